//! Dropping capabilities from every set: bounding, ambient, inheritable, permitted and
//! effective.

use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::spec::Spec;

/// Returns the highest capability number the running kernel supports.
fn last_capability() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(40)
}

/// Empties every capability set, so the payload has none, also as uid 0 inside.
pub(crate) fn drop_all(_spec: &Spec) -> Result<(), SetupError> {
    for capability in 0..=last_capability() {
        // SAFETY: PR_CAPBSET_DROP takes a capability number and no pointers.
        let ret = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, capability as libc::c_ulong, 0, 0, 0) };
        if ret == -1 {
            let error = std::io::Error::last_os_error();
            // EINVAL: a number this kernel does not know; nothing to drop.
            if error.raw_os_error() != Some(libc::EINVAL) {
                return Err(error).at(Step::Capabilities, || {
                    format!("cannot drop capability {capability} from the bounding set")
                });
            }
        }
    }
    rustix::thread::clear_ambient_capability_set()
        .at(Step::Capabilities, || "cannot clear the ambient capabilities".into())?;
    rustix::thread::set_capabilities(None, crate::sys::NO_CAPABILITIES)
        .at(Step::Capabilities, || "cannot clear the capability sets".into())?;
    Ok(())
}
