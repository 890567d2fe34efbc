//! Dropping capabilities from every set: bounding, ambient, inheritable, permitted and
//! effective.

use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::spec::Spec;

/// Capability numbers are dense from 0; the kernel rejects the first one past its last with
/// EINVAL, which ends the bounding-set loop. This bounds it anyway.
const MAX_CAPABILITY: u32 = 63;

/// Empties every capability set, so the payload has none, also as uid 0 inside.
pub(crate) fn drop_all(_spec: &Spec) -> Result<(), SetupError> {
    for capability in 0..=MAX_CAPABILITY {
        // SAFETY: PR_CAPBSET_DROP takes a capability number and no pointers.
        let ret = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, capability as libc::c_ulong, 0, 0, 0) };
        if ret == -1 {
            let error = std::io::Error::last_os_error();
            // EINVAL: past the last capability this kernel has.
            if error.raw_os_error() == Some(libc::EINVAL) {
                break;
            }
            return Err(error).at(Step::Capabilities, || format!("cannot drop capability {capability} from the bounding set"));
        }
    }
    rustix::thread::clear_ambient_capability_set()
        .at(Step::Capabilities, || "cannot clear the ambient capabilities".into())?;
    rustix::thread::set_capabilities(None, crate::sys::NO_CAPABILITIES)
        .at(Step::Capabilities, || "cannot clear the capability sets".into())?;
    Ok(())
}
