//! The payload's last walls: rlimits, capabilities, no_new_privs, Landlock and seccomp.

mod capabilities;
pub mod landlock;
mod rlimits;
pub(crate) mod seccomp;

use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::spec::{Mount, Spec};
use serde::{Deserialize, Serialize};

pub use landlock::{kernel_abi as landlock_abi, LandlockStatus};
pub use seccomp::SeccompError;

/// What the default seccomp filter denies, in words, for `explain`.
pub fn default_seccomp_denials(allow_userns: bool) -> Vec<String> {
    seccomp::denied_names(allow_userns)
}

/// The restrictions a payload actually runs under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Applied {
    /// Capabilities the payload holds.
    pub capabilities: Vec<String>,
    pub no_new_privs: bool,
    /// `default`, `unconfined`, or the profile's path.
    pub seccomp: String,
    pub landlock: LandlockStatus,
}

/// Applies the payload's restrictions in order: rlimits, capabilities, no_new_privs,
/// Landlock, and seccomp last, so its filter does not apply to the setup's own system calls.
/// The rlimits come before the capabilities are dropped, because raising a hard limit needs
/// CAP_SYS_RESOURCE. The Landlock rules are prepared before the rlimits, because preparing
/// opens a descriptor per rule, which a low `nofile` limit could refuse. `mounts` are the
/// grants that were mounted; `filter` is the compiled seccomp filter, if any.
pub(crate) fn restrict(spec: &Spec, uid: u32, mounts: &[Mount], filter: Option<&[seccomp::Instruction]>) -> Result<Applied, SetupError> {
    let landlock = landlock::prepare(spec, mounts)?;
    rlimits::apply(&spec.limits.rlimits)?;
    let granted = spec.security.capabilities();
    let all = spec.security.cap_add.iter().any(|cap| cap == "ALL");
    capabilities::apply(&granted, all, uid)?;
    rustix::thread::set_no_new_privs(true).at(Step::NoNewPrivs, || "cannot set no_new_privs".into())?;
    let landlock = landlock.enforce()?;
    if let Some(program) = filter {
        seccomp::install(program).at(Step::Seccomp, || "cannot install the seccomp filter".into())?;
    }
    Ok(Applied {
        capabilities: granted,
        no_new_privs: true,
        seccomp: match &spec.security.seccomp {
            crate::spec::SeccompMode::Default => "default".into(),
            crate::spec::SeccompMode::Unconfined => "unconfined".into(),
            crate::spec::SeccompMode::Profile(path) => path.display().to_string(),
        },
        landlock,
    })
}
