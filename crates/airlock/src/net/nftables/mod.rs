//! nf_tables through netlink: a [`Batch`] of tables, chains and rules that the kernel applies
//! as one transaction, without the `nft` program.
//!
//! A rule is a list of [`Expr`]s. The [`matches`] and [`statements`] modules build those
//! lists for the rules airlock installs, named after the nft syntax they stand for, so
//!
//! ```text
//! iifname "al-web" oifname "al-*" oifname != "al-web" drop
//! ```
//!
//! is written
//!
//! ```
//! # use airlock::net::nftables::{matches, statements};
//! let rule = [
//!     matches::iifname("al-web")?,
//!     matches::oifname_prefix("al-")?,
//!     matches::not_oifname("al-web")?,
//!     statements::drop(),
//! ]
//! .concat();
//! # Ok::<(), airlock::net::nftables::NftError>(())
//! ```

mod attr;
mod batch;
mod expr;
pub mod matches;
pub mod statements;
mod table;
#[cfg(test)]
mod tests;
mod uapi;

pub use batch::{Batch, Connection};
pub use expr::{CmpOp, CtKey, Expr, MetaKey, NatFamily, PayloadBase, Register, Verdict};
pub use matches::{CtState, Icmpv6Type, Protocol};
pub use table::{BaseChain, ChainType, Family, Hook, Policy, Table};

use super::netlink::KernelError;
use crate::error::describe;
use std::io;

/// A rule that cannot be built, or a batch that the kernel did not apply.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("invalid interface name {name:?} in a firewall rule: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error("invalid port range {first}-{last}: the first port is above the last")]
    InvalidPortRange { first: u16, last: u16 },

    #[error("cannot open a netfilter netlink socket: {}", describe(.0))]
    Socket(#[source] io::Error),

    #[error("cannot send the nf_tables batch: {}", describe(.0))]
    Send(#[source] io::Error),

    /// The kernel's replies could not be read, so whether it applied the batch is unknown.
    #[error("cannot read the kernel's reply to the nf_tables batch: {}", describe(.0))]
    Receive(#[source] io::Error),

    /// The kernel has no table or chain by the name a change used (`ENOENT`), as when a
    /// cleanup deletes a table that is already gone. Nothing in the batch was applied.
    #[error("cannot {operation}: {source}")]
    NotFound { operation: String, source: KernelError },

    /// The kernel rejected a change for any other reason. Nothing in the batch was applied.
    #[error("cannot {operation}: {source}")]
    Rejected { operation: String, source: KernelError },
}
