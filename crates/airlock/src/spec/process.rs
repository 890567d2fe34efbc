use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The payload: what runs, where, with which environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Process {
    /// The program and its arguments, taken literally. A program name without a `/` is
    /// looked up in the sandbox's `PATH`.
    pub command: Vec<String>,
    /// Variables set in the payload's environment, on top of the clean defaults.
    pub env: BTreeMap<String, String>,
    /// Names of the caller's variables copied into the payload's environment.
    pub env_keep: Vec<String>,
    /// The payload's working directory inside the sandbox; by default the caller's working
    /// directory when the sandbox can see it, else `/`.
    pub chdir: Option<PathBuf>,
    /// The sandbox's host name, in its own UTS namespace; `airlock` by default.
    pub hostname: Option<String>,
    /// Run the payload itself as PID 1 instead of under airlock's init.
    pub as_pid_1: bool,
    /// Give the payload a pseudo-terminal of its own, relayed to the caller's terminal.
    pub tty: bool,
}

impl Process {
    pub const DEFAULT_HOSTNAME: &'static str = "airlock";

    pub fn hostname(&self) -> &str {
        self.hostname.as_deref().unwrap_or(Process::DEFAULT_HOSTNAME)
    }
}
