//! Overlay grants: read-only lower directories under a writable upper layer that is either a
//! host directory (changes persist) or a tmpfs (changes vanish with the sandbox).

use super::mount_api::{self, Flags};
use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::spec::{Mount, NsSource, Spec};
use rustix::fs::Mode;
use rustix::mount::{FsMountFlags, FsOpenFlags};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// Mounts the overlay described by `mount` as a detached tree.
pub(crate) fn prepare(mount: &Mount, spec: &Spec) -> Result<OwnedFd, SetupError> {
    let Mount::Overlay { dest, lower, upper, work } = mount else {
        unreachable!("overlay::prepare is only called for overlay grants");
    };
    let what = || format!("cannot mount the overlay for {}", dest.display());

    let context = rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).at(Step::Mounts, what)?;
    for dir in lower {
        add_lower(&context, dir).at(Step::Mounts, || format!("cannot use {} as an overlay layer", dir.display()))?;
    }

    // Keeps the upper tmpfs open until the overlay holds it.
    let _tmpfs: Option<OwnedFd>;
    let (upper_path, work_path) = match (upper, work) {
        (Some(upper), Some(work)) => {
            _tmpfs = None;
            (upper.display().to_string(), work.display().to_string())
        }
        _ => {
            let tmpfs = mount_api::new_filesystem("tmpfs", &[("mode", "0755")], Flags { nosuid: true, nodev: true, ..Flags::NONE })
                .at(Step::Mounts, what)?;
            rustix::fs::mkdirat(&tmpfs, c"upper", Mode::from_raw_mode(0o755)).at(Step::Mounts, what)?;
            rustix::fs::mkdirat(&tmpfs, c"work", Mode::from_raw_mode(0o755)).at(Step::Mounts, what)?;
            // The overlay takes paths; the detached tmpfs is reachable through its descriptor.
            let base = format!("/proc/self/fd/{}", tmpfs.as_raw_fd());
            _tmpfs = Some(tmpfs);
            (format!("{base}/upper"), format!("{base}/work"))
        }
    };
    rustix::mount::fsconfig_set_string(&context, "upperdir", upper_path.as_str()).at(Step::Mounts, what)?;
    rustix::mount::fsconfig_set_string(&context, "workdir", work_path.as_str()).at(Step::Mounts, what)?;
    if spec.namespaces.user == NsSource::New {
        // Inside a user namespace overlay must keep its metadata in user.* extended
        // attributes, because trusted.* ones need privileges over the host.
        rustix::mount::fsconfig_set_flag(&context, "userxattr").at(Step::Mounts, what)?;
    }
    rustix::mount::fsconfig_create(&context).at(Step::Mounts, what)?;
    let flags = rustix::mount::MountAttrFlags::MOUNT_ATTR_NOSUID | rustix::mount::MountAttrFlags::MOUNT_ATTR_NODEV;
    rustix::mount::fsmount(&context, FsMountFlags::FSMOUNT_CLOEXEC, flags).map_err(std::io::Error::from).at(Step::Mounts, what)
}

/// Adds one lower layer. `lowerdir+` (Linux 6.8) takes each path whole; older kernels get
/// `lowerdir`, where a colon in the path must be escaped.
fn add_lower(context: &OwnedFd, dir: &Path) -> std::io::Result<()> {
    let path = dir.display().to_string();
    match rustix::mount::fsconfig_set_string(context.as_fd(), "lowerdir+", path.as_str()) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) => {
            let escaped = path.replace('\\', "\\\\").replace(':', "\\:").replace(',', "\\,");
            Ok(rustix::mount::fsconfig_set_string(context.as_fd(), "lowerdir", escaped.as_str())?)
        }
        Err(error) => Err(error.into()),
    }
}
