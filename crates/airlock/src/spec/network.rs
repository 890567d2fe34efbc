use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The network a sandbox is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Network {
    pub mode: NetMode,
}

/// Which network namespace the sandbox gets and what is in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetMode {
    /// A new network namespace with only `lo`, up.
    #[default]
    None,
    /// The caller's network namespace.
    Host,
    /// An existing network namespace, such as `/run/netns/NAME` made by `ip netns add`.
    Netns(PathBuf),
    /// The network namespace of a running named sandbox.
    Sandbox(String),
}

impl NetMode {
    /// Whether the sandbox gets a network namespace of its own.
    pub fn has_own_namespace(&self) -> bool {
        matches!(self, NetMode::None)
    }
}
