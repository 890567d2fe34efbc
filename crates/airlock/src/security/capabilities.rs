//! The payload's capabilities: none by default, also as uid 0 inside; those the spec grants
//! in every set that keeps them across `execve`.

use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use rustix::thread::{CapabilitySet, CapabilitySets};

/// Capability numbers are dense from 0; the kernel rejects the first one past its last with
/// EINVAL, which ends the bounding-set loop. This bounds it anyway.
const MAX_CAPABILITY: u32 = 63;

/// Leaves the payload exactly the capabilities in `granted` (canonical names).
///
/// Everything else leaves the bounding set, so not even a uid-0 payload gets it back on
/// `execve`. Granted ones go into the permitted, effective and inheritable sets, and for a
/// payload that is not uid 0 into the ambient set too, which is what carries capabilities
/// across `execve` of an ordinary program (`--cap-add NET_BIND_SERVICE` for a web server
/// running as a user).
/// With `all_available`, the grant is whatever this process holds (`--cap-add ALL` in a
/// sandbox that shares the caller's user namespace gets the caller's capabilities).
pub(crate) fn apply(granted: &[String], all_available: bool, uid: u32) -> Result<(), SetupError> {
    let mut keep = CapabilitySet::empty();
    for name in granted {
        keep |= CapabilitySet::from_name(name).ok_or_else(|| SetupError::new(Step::Capabilities, format!("unknown capability {name}")))?;
    }
    let held = rustix::thread::capabilities(None)
        .at(Step::Capabilities, || "cannot read the capability sets".into())?
        .permitted;
    if all_available {
        keep &= held;
    } else if !held.contains(keep) {
        let missing: Vec<&str> = (keep - held).iter_names().map(|(name, _)| name).collect();
        return Err(SetupError::new(
            Step::Capabilities,
            format!("cannot grant {}: airlock itself does not hold it", missing.join(", ")),
        ));
    }

    // The securebits init used for the setup must not reach the payload.
    crate::sys::set_securebits(0).at(Step::Capabilities, || "cannot reset the secure bits".into())?;
    for capability in 0..=MAX_CAPABILITY {
        if keep.bits() & (1 << capability) != 0 {
            continue;
        }
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
    rustix::thread::clear_ambient_capability_set().at(Step::Capabilities, || "cannot clear the ambient capabilities".into())?;
    let sets = CapabilitySets {
        effective: keep,
        permitted: keep,
        inheritable: keep,
    };
    rustix::thread::set_capabilities(None, sets).at(Step::Capabilities, || "cannot set the capability sets".into())?;
    if uid != 0 {
        for (name, capability) in keep.iter_names() {
            let number = capability.bits().trailing_zeros();
            // SAFETY: PR_CAP_AMBIENT_RAISE takes a capability number and no pointers.
            let ret = unsafe {
                libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, number as libc::c_ulong, 0, 0)
            };
            if ret == -1 {
                return Err(std::io::Error::last_os_error()).at(Step::Capabilities, || format!("cannot raise {name} in the ambient set"));
            }
        }
    }
    Ok(())
}
