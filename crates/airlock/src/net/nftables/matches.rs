//! Expression lists for the matches in airlock's rules, named after their nft syntax:
//! `matches::oifname("al-web")` is `oifname "al-web"`. Each list loads what it tests into
//! register one and compares it, so lists can follow one another in any order.

use super::expr::{CmpOp, CtKey, Expr, MetaKey, PayloadBase, Register};
use super::uapi::*;
use super::NftError;
use crate::net::cidr::{address_bytes, Cidr};
use std::net::IpAddr;

/// `IFNAMSIZ` from `linux/if.h`: the bytes the kernel keeps of an interface name, NUL included.
const IFNAMSIZ: usize = 16;

/// Offset of the destination port in both the TCP and the UDP header.
const DPORT_OFFSET: u32 = 2;

/// A transport protocol that has ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    fn number(self) -> u8 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u8,
            Protocol::Udp => libc::IPPROTO_UDP as u8,
        }
    }
}

/// An ICMPv6 message type, as `icmpv6 type` names it: the neighbor discovery messages,
/// which IPv6 needs to reach anything on a link (RFC 4861, sections 4.3 and 4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv6Type {
    /// `nd-neighbor-solicit`: a request for a neighbor's link-layer address.
    NeighborSolicit,
    /// `nd-neighbor-advert`: the reply to a solicitation.
    NeighborAdvert,
}

impl Icmpv6Type {
    fn number(self) -> u8 {
        match self {
            Icmpv6Type::NeighborSolicit => 135,
            Icmpv6Type::NeighborAdvert => 136,
        }
    }
}

/// A connection-tracking state, as `ct state` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtState {
    Invalid,
    Established,
    Related,
    New,
}

impl CtState {
    fn bit(self) -> u32 {
        match self {
            CtState::Invalid => NF_CT_STATE_INVALID_BIT,
            CtState::Established => NF_CT_STATE_ESTABLISHED_BIT,
            CtState::Related => NF_CT_STATE_RELATED_BIT,
            CtState::New => NF_CT_STATE_NEW_BIT,
        }
    }
}

/// `iifname "NAME"`.
pub fn iifname(name: &str) -> Result<Vec<Expr>, NftError> {
    interface_name(MetaKey::IifName, CmpOp::Eq, name)
}

/// `iifname != "NAME"`.
pub fn not_iifname(name: &str) -> Result<Vec<Expr>, NftError> {
    interface_name(MetaKey::IifName, CmpOp::Neq, name)
}

/// `oifname "NAME"`.
pub fn oifname(name: &str) -> Result<Vec<Expr>, NftError> {
    interface_name(MetaKey::OifName, CmpOp::Eq, name)
}

/// `oifname != "NAME"`.
pub fn not_oifname(name: &str) -> Result<Vec<Expr>, NftError> {
    interface_name(MetaKey::OifName, CmpOp::Neq, name)
}

/// `oifname "PREFIX*"`: the output interface's name starts with `prefix`.
pub fn oifname_prefix(prefix: &str) -> Result<Vec<Expr>, NftError> {
    check_interface_name(prefix)?;
    // Comparing only the prefix's bytes, without the NUL padding, is what makes it a prefix.
    Ok(vec![meta(MetaKey::OifName), cmp(CmpOp::Eq, prefix.as_bytes().to_vec())])
}

/// Compares a whole interface name: the kernel loads 16 bytes, NUL-padded.
fn interface_name(key: MetaKey, op: CmpOp, name: &str) -> Result<Vec<Expr>, NftError> {
    check_interface_name(name)?;
    let mut padded = name.as_bytes().to_vec();
    padded.resize(IFNAMSIZ, 0);
    Ok(vec![meta(key), cmp(op, padded)])
}

fn check_interface_name(name: &str) -> Result<(), NftError> {
    let reason = if name.is_empty() {
        "the name is empty"
    } else if name.len() >= IFNAMSIZ {
        "an interface name is at most 15 bytes"
    } else if name.contains('\0') {
        "an interface name cannot contain NUL"
    } else {
        return Ok(());
    };
    Err(NftError::InvalidName { name: name.to_owned(), reason })
}

/// `ip saddr NETWORK` or `ip6 saddr NETWORK`, by the network's family.
pub fn saddr(network: Cidr) -> Vec<Expr> {
    let offset = match network.address() {
        IpAddr::V4(_) => 12,
        IpAddr::V6(_) => 8,
    };
    address(network, offset)
}

/// `ip daddr NETWORK` or `ip6 daddr NETWORK`, by the network's family.
pub fn daddr(network: Cidr) -> Vec<Expr> {
    let offset = match network.address() {
        IpAddr::V4(_) => 16,
        IpAddr::V6(_) => 24,
    };
    address(network, offset)
}

/// Matches the family first, because an inet chain gets IPv4 and IPv6 packets and the
/// address sits at a different offset in each header. A prefix on a byte boundary compares
/// only its own bytes, and any other prefix loads the whole address and masks it, as nft does.
fn address(network: Cidr, offset: u32) -> Vec<Expr> {
    let family = match network.address() {
        IpAddr::V4(_) => NFPROTO_IPV4,
        IpAddr::V6(_) => NFPROTO_IPV6,
    };
    let mut exprs = vec![meta(MetaKey::NfProto), cmp(CmpOp::Eq, vec![family])];
    if network.prefix_len() == 0 {
        return exprs;
    }

    let mut bytes = address_bytes(network.network());
    let byte_aligned = network.prefix_len() % 8 == 0;
    if byte_aligned {
        bytes.truncate(usize::from(network.prefix_len() / 8));
    }
    exprs.push(payload(PayloadBase::Network, offset, bytes.len()));
    if !byte_aligned {
        exprs.push(Expr::Bitwise { source: Register::One, dest: Register::One, mask: network.mask() });
    }
    exprs.push(cmp(CmpOp::Eq, bytes));
    exprs
}

/// `meta l4proto tcp` or `meta l4proto udp`.
pub fn protocol(protocol: Protocol) -> Vec<Expr> {
    vec![meta(MetaKey::L4Proto), cmp(CmpOp::Eq, vec![protocol.number()])]
}

/// `tcp dport PORT` or `udp dport PORT`.
pub fn dport(protocol: Protocol, port: u16) -> Vec<Expr> {
    let mut exprs = self::protocol(protocol);
    exprs.push(payload(PayloadBase::Transport, DPORT_OFFSET, 2));
    exprs.push(cmp(CmpOp::Eq, port.to_be_bytes().to_vec()));
    exprs
}

/// `tcp dport FIRST-LAST` or `udp dport FIRST-LAST`, both ends included.
pub fn dport_range(protocol: Protocol, first: u16, last: u16) -> Result<Vec<Expr>, NftError> {
    if first > last {
        return Err(NftError::InvalidPortRange { first, last });
    }
    let mut exprs = self::protocol(protocol);
    exprs.push(payload(PayloadBase::Transport, DPORT_OFFSET, 2));
    exprs.push(cmp(CmpOp::Gte, first.to_be_bytes().to_vec()));
    exprs.push(cmp(CmpOp::Lte, last.to_be_bytes().to_vec()));
    Ok(exprs)
}

/// `icmpv6 type TYPE`.
pub fn icmpv6_type(icmp_type: Icmpv6Type) -> Vec<Expr> {
    vec![
        meta(MetaKey::NfProto),
        cmp(CmpOp::Eq, vec![NFPROTO_IPV6]),
        meta(MetaKey::L4Proto),
        cmp(CmpOp::Eq, vec![libc::IPPROTO_ICMPV6 as u8]),
        payload(PayloadBase::Transport, 0, 1),
        cmp(CmpOp::Eq, vec![icmp_type.number()]),
    ]
}

/// `ct state STATE,...`: the connection is in any of `states`. An empty list never matches.
pub fn ct_state(states: &[CtState]) -> Vec<Expr> {
    let mask = states.iter().fold(0, |mask, state| mask | state.bit());
    ct_bits(CtKey::State, mask)
}

/// `ct status dnat`: the connection's destination was rewritten, as a published port's is.
pub fn ct_status_dnat() -> Vec<Expr> {
    ct_bits(CtKey::Status, IPS_DST_NAT)
}

/// Any of the bits in `mask` is set: `(value & mask) != 0`.
fn ct_bits(key: CtKey, mask: u32) -> Vec<Expr> {
    vec![
        Expr::Ct { key, dest: Register::One },
        Expr::Bitwise { source: Register::One, dest: Register::One, mask: mask.to_ne_bytes().to_vec() },
        cmp(CmpOp::Neq, vec![0; 4]),
    ]
}

/// `fib daddr type local`: the destination is an address of this network namespace.
pub fn fib_daddr_local() -> Vec<Expr> {
    vec![Expr::FibDaddrType { dest: Register::One }, cmp(CmpOp::Eq, RTN_LOCAL.to_ne_bytes().to_vec())]
}

fn meta(key: MetaKey) -> Expr {
    Expr::Meta { key, dest: Register::One }
}

fn payload(base: PayloadBase, offset: u32, len: usize) -> Expr {
    Expr::Payload { base, offset, len: len as u32, dest: Register::One }
}

fn cmp(op: CmpOp, data: Vec<u8>) -> Expr {
    Expr::Cmp { op, source: Register::One, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    #[test]
    fn interface_name_is_padded() {
        let exprs = oifname("al-web").unwrap();
        assert_eq!(exprs[0], Expr::Meta { key: MetaKey::OifName, dest: Register::One });
        assert_eq!(
            exprs[1],
            Expr::Cmp { op: CmpOp::Eq, source: Register::One, data: b"al-web\0\0\0\0\0\0\0\0\0\0".to_vec() }
        );
    }

    #[test]
    fn prefix_compares_prefix_bytes_only() {
        let exprs = oifname_prefix("al-").unwrap();
        assert_eq!(exprs[1], Expr::Cmp { op: CmpOp::Eq, source: Register::One, data: b"al-".to_vec() });
    }

    #[test]
    fn bad_interface_names_are_rejected() {
        let long = "al-sixteen-bytes";
        for (result, reason) in [
            (iifname(""), "the name is empty"),
            (not_oifname(long), "an interface name is at most 15 bytes"),
            (oifname_prefix(long), "an interface name is at most 15 bytes"),
            (oifname("al\0web"), "an interface name cannot contain NUL"),
        ] {
            match result {
                Err(NftError::InvalidName { reason: found, .. }) => assert_eq!(found, reason),
                other => panic!("expected an invalid name error with {reason:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn byte_aligned_prefix_loads_prefix_bytes() {
        let exprs = saddr(cidr("10.89.0.0/24"));
        assert_eq!(exprs[1], Expr::Cmp { op: CmpOp::Eq, source: Register::One, data: vec![NFPROTO_IPV4] });
        assert_eq!(exprs[2], Expr::Payload { base: PayloadBase::Network, offset: 12, len: 3, dest: Register::One });
        assert_eq!(exprs[3], Expr::Cmp { op: CmpOp::Eq, source: Register::One, data: vec![10, 89, 0] });
        assert_eq!(exprs.len(), 4);
    }

    #[test]
    fn unaligned_prefix_masks_whole_address() {
        let exprs = daddr(cidr("10.31.2.3/12"));
        assert_eq!(exprs[2], Expr::Payload { base: PayloadBase::Network, offset: 16, len: 4, dest: Register::One });
        assert_eq!(
            exprs[3],
            Expr::Bitwise { source: Register::One, dest: Register::One, mask: vec![0xff, 0xf0, 0, 0] }
        );
        assert_eq!(exprs[4], Expr::Cmp { op: CmpOp::Eq, source: Register::One, data: vec![10, 16, 0, 0] });
    }

    #[test]
    fn ipv6_address_uses_ipv6_offsets() {
        let exprs = daddr(cidr("2001:db8::1/128"));
        assert_eq!(exprs[1], Expr::Cmp { op: CmpOp::Eq, source: Register::One, data: vec![NFPROTO_IPV6] });
        assert_eq!(exprs[2], Expr::Payload { base: PayloadBase::Network, offset: 24, len: 16, dest: Register::One });
        let source = saddr(cidr("fd00::/8"));
        assert_eq!(source[2], Expr::Payload { base: PayloadBase::Network, offset: 8, len: 1, dest: Register::One });
    }

    #[test]
    fn zero_prefix_matches_family_only() {
        assert_eq!(daddr(cidr("0.0.0.0/0")).len(), 2);
        assert_eq!(
            daddr(cidr("::/0"))[1],
            Expr::Cmp { op: CmpOp::Eq, source: Register::One, data: vec![NFPROTO_IPV6] }
        );
    }

    #[test]
    fn port_range_compares_both_ends() {
        let exprs = dport_range(Protocol::Udp, 1000, 2000).unwrap();
        assert_eq!(exprs[1], Expr::Cmp { op: CmpOp::Eq, source: Register::One, data: vec![17] });
        assert_eq!(exprs[3], Expr::Cmp { op: CmpOp::Gte, source: Register::One, data: vec![0x03, 0xe8] });
        assert_eq!(exprs[4], Expr::Cmp { op: CmpOp::Lte, source: Register::One, data: vec![0x07, 0xd0] });
    }

    #[test]
    fn reversed_port_range_is_rejected() {
        let error = dport_range(Protocol::Tcp, 2000, 1000).unwrap_err();
        assert_eq!(error.to_string(), "invalid port range 2000-1000: the first port is above the last");
    }

    #[test]
    fn ct_state_ors_state_bits() {
        let exprs = ct_state(&[CtState::Established, CtState::Related]);
        assert_eq!(
            exprs[1],
            Expr::Bitwise { source: Register::One, dest: Register::One, mask: 6u32.to_ne_bytes().to_vec() }
        );
        assert_eq!(exprs[2], Expr::Cmp { op: CmpOp::Neq, source: Register::One, data: vec![0; 4] });
        let all = ct_state(&[CtState::Invalid, CtState::Established, CtState::Related, CtState::New]);
        assert_eq!(
            all[1],
            Expr::Bitwise { source: Register::One, dest: Register::One, mask: 15u32.to_ne_bytes().to_vec() }
        );
    }
}
