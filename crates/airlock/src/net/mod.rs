//! Networking: netlink for links, addresses and routes, nf_tables rules, bridge networks
//! with their address leases, and pasta for user-mode networking.
//!
//! ```text
//!   host                                          sandbox (own network namespace)
//!   uplink ── NAT ── al-NETWORK (bridge, .1) ──── alvPID ═══ eth0 (.N, default via .1)
//!                    table airlock-net-NETWORK             table airlock (--allow-egress)
//!                    table airlock-sandbox-ID (published ports)
//! ```
//!
//! Before the clone, [`setup::prepare`] checks the mode, opens or creates the network and
//! leases an address; after it, the supervisor attaches the host side (veth and rules, or
//! pasta) while the sandbox builds its mounts, and the sandbox then configures its side.

mod cidr;
pub(crate) mod firewall;
mod lease;
pub(crate) mod loopback;
mod netlink;
pub mod network;
pub mod nftables;
pub(crate) mod pasta;
mod resolv;
pub mod rtnl;
pub(crate) mod setup;
#[cfg(test)]
mod testns;

pub use cidr::{Cidr, CidrError};
pub use netlink::KernelError;
pub use network::{collect_garbage, BridgeNetwork, Networks};

use crate::error::describe;

/// The prefix of every bridge airlock creates: `al-NETWORK`.
pub const BRIDGE_PREFIX: &str = "al-";

/// The longest network name: the bridge's name, with its prefix, must fit in the kernel's
/// 15 bytes for interface names.
pub const MAX_NETWORK_NAME: usize = 12;

/// Checks a network name: 1 to 12 letters, digits, `_` and `-`, not starting with `-`.
pub fn check_network_name(name: &str) -> Result<(), String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name.is_empty() || name.len() > MAX_NETWORK_NAME || !name.chars().all(valid_char) || name.starts_with('-') {
        return Err(format!("use 1 to {MAX_NETWORK_NAME} letters, digits, '_' and '-', not starting with '-'"));
    }
    Ok(())
}

/// A network that could not be created, found, attached or removed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("invalid network name {name:?}: {why}")]
    BadName { name: String, why: String },

    #[error("no network named {0}; create it with `airlock net create {0}`")]
    NotFound(String),

    #[error("a network named {0} already exists; `airlock net ls` lists them")]
    Exists(String),

    #[error("invalid subnet {subnet}: {why}")]
    BadSubnet { subnet: Cidr, why: String },

    #[error("no free /24 subnet left in {0}; choose one with --subnet")]
    NoFreeSubnet(&'static str),

    #[error("network {network} has no free address left; remove unused sandboxes or use a larger --subnet")]
    Full { network: String },

    #[error("cannot use address {address} on network {network}: {why}")]
    BadAddress { address: std::net::IpAddr, network: String, why: String },

    #[error("network {name} is in use by {count} sandbox(es); stop them first")]
    InUse { name: String, count: usize },

    #[error("--net bridge and airlock net need root: they create links and firewall rules on the host")]
    NotRoot,

    #[error("--net user needs pasta, which is not installed: install the passt package (apt install passt)")]
    PastaMissing,

    #[error("pasta failed: {why}{}", if .log.is_empty() { String::new() } else { format!(" (pasta: {})", .log) })]
    PastaFailed { why: String, log: String },

    #[error(transparent)]
    Link(#[from] rtnl::RtnlError),

    #[error("cannot install firewall rules: {0}")]
    Firewall(#[from] nftables::NftError),

    #[error(transparent)]
    State(#[from] crate::named::NamedError),

    #[error("cannot {what}: {}", describe(.source))]
    Io { what: String, source: std::io::Error },
}

impl NetError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> NetError {
        NetError::Io { what: what.into(), source }
    }
}
