//! The sandbox's view of the file system.

use crate::child::{AtStep, Context, SetupError};
use crate::launch::channel::Step;
use rustix::mount::{MountFlags, MountPropagationFlags};

/// Builds the sandbox's mounts in its new mount namespace.
pub(crate) fn setup(_context: &Context<'_>) -> Result<(), SetupError> {
    // Nothing mounted inside may reach the host, and later host mounts stay outside.
    rustix::mount::mount_change("/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)
        .at(Step::Mounts, || "cannot make the mounts private".into())?;
    rustix::mount::mount("proc", "/proc", "proc", MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC, None)
        .at(Step::Mounts, || "cannot mount proc on /proc".into())?;
    Ok(())
}
