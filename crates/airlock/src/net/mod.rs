//! Networking: netlink for links, addresses and routes, and nf_tables rules.

mod cidr;
mod netlink;
pub mod nftables;
pub mod rtnl;
#[cfg(test)]
mod testns;

pub use cidr::{Cidr, CidrError};
pub use netlink::KernelError;
