//! The sandbox's `/proc` (and `/sys`), with what a sandbox has no business reading or
//! writing hidden, as the masked and read-only paths of the OCI runtime spec's defaults.
//! A mask that cannot be applied stops the sandbox.

use super::mount_api::{self, Flags};
use super::resolve::{Resolver, Target};
use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::spec::{NsSource, Spec};
use rustix::fs::{Mode, OFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Entries of `/proc` covered by `/dev/null` (files) or an empty read-only directory
/// (`true`: directories).
const PROC_MASKED: [(&str, bool); 10] = [
    ("acpi", true),
    ("asound", true),
    ("interrupts", false),
    ("kcore", false),
    ("keys", false),
    ("latency_stats", false),
    ("sched_debug", false),
    ("scsi", true),
    ("timer_list", false),
    ("timer_stats", false),
];

/// Entries of `/proc` that stay visible but read-only.
const PROC_READ_ONLY: [&str; 5] = ["bus", "fs", "irq", "sys", "sysrq-trigger"];

/// Entries of `/sys` covered by an empty read-only tmpfs.
const SYS_MASKED: [&str; 2] = ["firmware", "devices/virtual/powercap"];

const PROC_FLAGS: Flags = Flags { read_only: false, nosuid: true, nodev: true, noexec: true };
const EMPTY_DIR_FLAGS: Flags = Flags { read_only: true, nosuid: true, nodev: true, noexec: true };

/// A masked procfs, and what its mounting left to keep.
pub(crate) struct Mounted {
    /// The empty read-only directory that was the source of directory masks.
    pub empty: OwnedFd,
    /// `sys/kernel/ns_last_pid`, open for writing, when requested.
    pub last_pid: Option<OwnedFd>,
}

/// Mounts a procfs of the sandbox's PID namespace at `dest` and masks it; `null` is a copy
/// of the host's `/dev/null`, the source of file masks. With `want_last_pid`, opens
/// `sys/kernel/ns_last_pid` before `sys` becomes read-only.
pub(crate) fn mount(resolver: &Resolver<'_>, dest: &Path, spec: &Spec, null: BorrowedFd<'_>, want_last_pid: bool) -> Result<Mounted, SetupError> {
    let what = || format!("cannot mount proc on {}", dest.display());
    let point = resolver.mount_point(dest, Target::Dir).at(Step::Mounts, what)?;
    // The mount point is an empty directory; a read-only copy of it, taken before proc
    // covers it, masks directories without a file system of its own each.
    let empty = mount_api::clone_tree(point.as_fd(), Path::new(""), EMPTY_DIR_FLAGS).at(Step::Mounts, what)?;
    match mount_api::mount_at(point.as_fd(), "proc", &[], PROC_FLAGS) {
        Ok(()) => {}
        // In a user namespace the kernel refuses a procfs of a PID namespace the sandbox does
        // not own (--share pid as an ordinary user); a copy of the caller's /proc will do.
        Err(error) if error.raw_os_error() == Some(libc::EPERM) && spec.namespaces.pid != NsSource::New => {
            let copy = mount_api::clone_tree(rustix::fs::CWD, Path::new("/proc"), PROC_FLAGS).at(Step::Mounts, what)?;
            mount_api::attach(copy.as_fd(), point.as_fd()).at(Step::Mounts, what)?;
        }
        Err(error) => return Err(error).at(Step::Mounts, what),
    }
    resolver.mounted(dest);

    let proc = resolver.open(dest, OFlags::PATH | OFlags::DIRECTORY).at(Step::Mounts, what)?;
    let last_pid = if want_last_pid {
        rustix::fs::openat(&proc, "sys/kernel/ns_last_pid", OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).ok()
    } else {
        None
    };
    for (name, is_dir) in PROC_MASKED {
        let what = || format!("cannot mask {}/{name}", dest.display());
        let Some(target) = open_entry(proc.as_fd(), name).at(Step::Mounts, what)? else {
            continue;
        };
        let source = if is_dir { empty.as_fd() } else { null };
        let cover = mount_api::clone_tree(source, Path::new(""), Flags::NONE).at(Step::Mounts, what)?;
        mount_api::attach(cover.as_fd(), target.as_fd()).at(Step::Mounts, what)?;
    }
    for name in PROC_READ_ONLY {
        let what = || format!("cannot make {}/{name} read-only", dest.display());
        let Some(target) = open_entry(proc.as_fd(), name).at(Step::Mounts, what)? else {
            continue;
        };
        let copy = mount_api::clone_tree(target.as_fd(), Path::new(""), Flags { read_only: true, ..PROC_FLAGS })
            .at(Step::Mounts, what)?;
        mount_api::attach(copy.as_fd(), target.as_fd()).at(Step::Mounts, what)?;
    }
    Ok(Mounted { empty, last_pid })
}

/// Masks the sensitive parts of a fresh sysfs mounted at `dest`.
pub(crate) fn mask_sysfs(resolver: &Resolver<'_>, dest: &Path) -> Result<(), SetupError> {
    let sys = resolver
        .open(dest, OFlags::PATH | OFlags::DIRECTORY)
        .at(Step::Mounts, || format!("cannot open {}", dest.display()))?;
    for name in SYS_MASKED {
        let what = || format!("cannot mask {}/{name}", dest.display());
        if let Some(target) = open_entry(sys.as_fd(), name).at(Step::Mounts, what)? {
            mount_api::mount_at(target.as_fd(), "tmpfs", &[("mode", "0555")], EMPTY_DIR_FLAGS).at(Step::Mounts, what)?;
        }
    }
    Ok(())
}

/// Opens an entry of a procfs or sysfs without following symlinks; `None` when this kernel
/// does not have it.
fn open_entry(parent: BorrowedFd<'_>, name: &str) -> std::io::Result<Option<std::os::fd::OwnedFd>> {
    match rustix::fs::openat(parent, name, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
        Ok(target) => Ok(Some(target)),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(error) => Err(error.into()),
    }
}
