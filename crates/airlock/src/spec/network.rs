use serde::{Deserialize, Serialize};

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
}
