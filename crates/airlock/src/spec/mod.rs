//! The spec: the complete description of one sandbox.
//!
//! Every front end (command-line flags, TOML profiles) only builds a [`Spec`]; the launcher only
//! reads one. [`Spec::validate`] checks it against the caller and the host before anything is
//! created, so a bad path or an unowned id range is one clear error and nothing is left behind.

mod error;
mod filesystem;
mod identity;
mod limits;
mod namespaces;
mod network;
mod process;
mod security;
pub mod units;
pub(crate) mod validate;

pub use error::SpecError;
pub use filesystem::{BindMode, FileSource, Filesystem, Mount};
pub use identity::{IdRange, Identity};
pub use limits::{parse_cpu_list, Cpus, Limits, Rlimit, RlimitResource, UNLIMITED};
pub use namespaces::{NamespaceKind, Namespaces, NsSource};
pub use network::{EgressRule, NetMode, Network, PortMapping, Protocol, DEFAULT_NETWORK};
pub use process::Process;
pub use security::{capability_names, parse_capability, Channel, Ipc, LandlockMode, SeccompMode, Security};
pub use validate::Caller;

use serde::{Deserialize, Serialize};

/// The complete description of one sandbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    pub namespaces: Namespaces,
    pub identity: Identity,
    pub process: Process,
    pub filesystem: Filesystem,
    pub network: Network,
    pub ipc: Ipc,
    pub security: Security,
    pub limits: Limits,
}

impl Spec {
    /// Builds a spec that runs `command` with every default: all namespaces new, the default
    /// filesystem view, no network, no capabilities.
    pub fn for_command<I, S>(command: I) -> Spec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut spec = Spec::default();
        spec.process.command = command.into_iter().map(Into::into).collect();
        spec
    }
}

