//! Taking the payload's user and group ids inside the user namespace.

use super::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::spec::validate::ResolvedIds;
use rustix::process::{Gid, Uid};

/// Switches to the payload's ids while keeping capabilities for the rest of the setup.
///
/// Right after the clone this process has every capability in the new user namespace but
/// may still run under an id the map does not cover (then files it creates fail with
/// EOVERFLOW). With `SECBIT_NO_SETUID_FIXUP` the kernel leaves the capability sets alone
/// when the ids change; the payload drops them explicitly before exec.
pub(crate) fn become_ids(ids: &ResolvedIds) -> Result<(), SetupError> {
    crate::sys::set_securebits(crate::sys::SECBIT_NO_SETUID_FIXUP)
        .at(Step::Identity, || "cannot keep capabilities across the id change".into())?;

    if ids.setgroups {
        rustix::thread::set_thread_groups(&[])
            .at(Step::Identity, || "cannot clear the supplementary groups".into())?;
    }
    let gid = Gid::from_raw(ids.gid);
    rustix::thread::set_thread_res_gid(gid, gid, gid)
        .at(Step::Identity, || format!("cannot switch to gid {}", ids.gid))?;
    let uid = Uid::from_raw(ids.uid);
    rustix::thread::set_thread_res_uid(uid, uid, uid)
        .at(Step::Identity, || format!("cannot switch to uid {}", ids.uid))?;
    Ok(())
}
