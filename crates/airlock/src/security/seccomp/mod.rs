//! Seccomp: the default filter, OCI/Docker JSON profiles, and the BPF they compile to.

mod bpf;
mod default_policy;
mod profile;
mod syscalls;

pub(crate) use bpf::Instruction;
pub(crate) use default_policy::denied_names;

use crate::spec::{SeccompMode, Spec};
use std::path::PathBuf;

/// A seccomp filter that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("cannot read the seccomp profile {}: {reason}", .path.display())]
    Read { path: PathBuf, reason: String },

    #[error("invalid seccomp profile {}: {reason}", .path.display())]
    Profile { path: PathBuf, reason: String },

    #[error("cannot compile the seccomp filter: {0}")]
    Compile(String),

    #[error("seccomp filters are built for x86-64 only; use --seccomp unconfined on this machine")]
    Architecture,
}

/// Builds the filter the spec asks for; `None` for `--seccomp unconfined`.
pub(crate) fn build(spec: &Spec) -> Result<Option<Vec<Instruction>>, SeccompError> {
    let policy = match &spec.security.seccomp {
        SeccompMode::Unconfined => return Ok(None),
        SeccompMode::Default => default_policy::policy(spec.security.allow_userns),
        SeccompMode::Profile(path) => {
            let capabilities = spec.security.capabilities();
            let environment = profile::Environment {
                capabilities: &capabilities,
                kernel: running_kernel(),
            };
            profile::load(path, &environment)?
        }
    };
    if !cfg!(target_arch = "x86_64") {
        return Err(SeccompError::Architecture);
    }
    bpf::compile(&policy).map(Some).map_err(SeccompError::Compile)
}

/// Installs a compiled filter on the calling thread; `no_new_privs` must be set.
pub(crate) fn install(program: &[Instruction]) -> std::io::Result<()> {
    bpf::install(program)
}

fn running_kernel() -> (u32, u32) {
    let release = rustix::system::uname().release().to_string_lossy().into_owned();
    profile::parse_kernel(&release).unwrap_or((0, 0))
}
