//! Tables and the kinds of chain they hold.

use super::uapi::*;
use std::fmt;

/// The address family of a table: `inet` covers IPv4 and IPv6, `ip` and `ip6` one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Inet,
    Ip,
    Ip6,
}

impl Family {
    pub(super) fn number(self) -> u8 {
        match self {
            Family::Inet => NFPROTO_INET,
            Family::Ip => NFPROTO_IPV4,
            Family::Ip6 => NFPROTO_IPV6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Inet => "inet",
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
        })
    }
}

/// A table, named within its family. Displays as nft writes it: `inet airlock-web`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub family: Family,
    pub name: String,
}

impl Table {
    pub fn new(family: Family, name: impl Into<String>) -> Table {
        Table { family, name: name.into() }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.family, self.name)
    }
}

/// The point in the network stack where a base chain gets packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Packets that arrived, before routing.
    Prerouting,
    /// Packets for this namespace, after routing.
    Input,
    /// Packets routed through this namespace.
    Forward,
    /// Packets that this namespace sends.
    Output,
    /// Packets about to leave, after routing.
    Postrouting,
}

impl Hook {
    pub(super) fn number(self) -> u32 {
        match self {
            Hook::Prerouting => NF_INET_PRE_ROUTING,
            Hook::Input => NF_INET_LOCAL_IN,
            Hook::Forward => NF_INET_FORWARD,
            Hook::Output => NF_INET_LOCAL_OUT,
            Hook::Postrouting => NF_INET_POST_ROUTING,
        }
    }
}

/// The type of a base chain. `filter` chains accept and drop packets, and `nat` chains
/// rewrite addresses and get only the first packet of each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainType {
    Filter,
    Nat,
}

impl ChainType {
    pub(super) fn name(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
        }
    }
}

/// The verdict for a packet that no rule of a base chain decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

impl Policy {
    pub(super) fn verdict(self) -> u32 {
        match self {
            Policy::Accept => NF_ACCEPT,
            Policy::Drop => NF_DROP,
        }
    }
}

/// The hook, priority, type and policy of a base chain, which the kernel runs for every
/// packet at its hook. Lower priorities run first (`-100` is nft's `dstnat`, `100` its
/// `srcnat`, `0` its `filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseChain {
    pub chain_type: ChainType,
    pub hook: Hook,
    pub priority: i32,
    pub policy: Policy,
}

impl BaseChain {
    /// Builds a filter chain whose policy is accept.
    pub fn filter(hook: Hook, priority: i32) -> BaseChain {
        BaseChain { chain_type: ChainType::Filter, hook, priority, policy: Policy::Accept }
    }

    /// Builds a NAT chain. Its policy stays accept, because a NAT chain only rewrites.
    pub fn nat(hook: Hook, priority: i32) -> BaseChain {
        BaseChain { chain_type: ChainType::Nat, hook, priority, policy: Policy::Accept }
    }

    /// Returns the same chain with `policy` for the packets that no rule decides.
    pub fn with_policy(self, policy: Policy) -> BaseChain {
        BaseChain { policy, ..self }
    }
}
