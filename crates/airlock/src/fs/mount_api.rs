//! Thin wrappers over the kernel's file-descriptor based mount API (`open_tree`, `fsopen`,
//! `fsmount`, `move_mount`, `mount_setattr`), which airlock uses for every mount: a mount is
//! built detached, given its flags, then attached at a destination opened safely.

use crate::sys::{self, MountAttr};
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, OpenTreeFlags,
};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Flags a mount can carry, as `MOUNT_ATTR_*` bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub read_only: bool,
    pub nosuid: bool,
    pub nodev: bool,
    pub noexec: bool,
}

impl Flags {
    pub const NONE: Flags = Flags { read_only: false, nosuid: false, nodev: false, noexec: false };

    fn bits(self) -> u64 {
        let mut bits = 0;
        if self.read_only {
            bits |= sys::MOUNT_ATTR_RDONLY;
        }
        if self.nosuid {
            bits |= sys::MOUNT_ATTR_NOSUID;
        }
        if self.nodev {
            bits |= sys::MOUNT_ATTR_NODEV;
        }
        if self.noexec {
            bits |= sys::MOUNT_ATTR_NOEXEC;
        }
        bits
    }

    fn attr_flags(self) -> MountAttrFlags {
        MountAttrFlags::from_bits_retain(self.bits() as u32)
    }
}

/// Copies the mount tree at `path` relative to `dirfd` (following symlinks; an empty path
/// means `dirfd` itself) into a detached tree, with `flags` added to every mount in it.
pub(crate) fn clone_tree(dirfd: BorrowedFd<'_>, path: &Path, flags: Flags) -> io::Result<OwnedFd> {
    let mut open_flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC | OpenTreeFlags::AT_RECURSIVE;
    if path.as_os_str().is_empty() {
        open_flags |= OpenTreeFlags::AT_EMPTY_PATH;
    }
    let tree = rustix::mount::open_tree(dirfd, path, open_flags)?;
    if flags != Flags::NONE {
        set_flags(tree.as_fd(), flags, true)?;
    }
    Ok(tree)
}

/// Adds `flags` to the mount at `fd`, and to every mount below it when `recursive`.
pub(crate) fn set_flags(fd: BorrowedFd<'_>, flags: Flags, recursive: bool) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: flags.bits(),
        ..MountAttr::default()
    };
    sys::mount_setattr(fd, c"", recursive, &attr)
}

/// Creates a new detached file system of type `fstype` with `options` (key and value; an
/// empty value sets a flag).
pub(crate) fn new_filesystem(fstype: &str, options: &[(&str, &str)], flags: Flags) -> io::Result<OwnedFd> {
    let context = rustix::mount::fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)?;
    for (key, value) in options {
        if value.is_empty() {
            rustix::mount::fsconfig_set_flag(&context, *key)?;
        } else {
            rustix::mount::fsconfig_set_string(&context, *key, *value)?;
        }
    }
    rustix::mount::fsconfig_create(&context)?;
    Ok(rustix::mount::fsmount(&context, FsMountFlags::FSMOUNT_CLOEXEC, flags.attr_flags())?)
}

/// Attaches the detached tree `tree` on top of the mount point `target`.
pub(crate) fn attach(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()> {
    Ok(rustix::mount::move_mount(
        tree,
        c"",
        target,
        c"",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )?)
}

/// Makes every mount of this mount namespace private, so nothing mounted here reaches the
/// host and host mounts made later stay out.
pub(crate) fn make_all_private() -> io::Result<()> {
    let attr = MountAttr {
        propagation: libc::MS_PRIVATE,
        ..MountAttr::default()
    };
    let root = rustix::fs::open("/", rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty())?;
    sys::mount_setattr(root.as_fd(), c"", true, &attr)
}

/// Mounts a new file system of `fstype` on the mount point `point`.
///
/// This uses `mount(2)` on the point's `/proc/self/fd` link: one system call where the
/// descriptor-based API needs five or more, and file system creation is the most frequent
/// step of a sandbox's start. The link resolves to exactly the opened point, so no path is
/// looked up again. Without a `/proc` the descriptor-based API is used instead.
pub(crate) fn mount_at(point: BorrowedFd<'_>, fstype: &str, options: &[(&str, &str)], flags: Flags) -> io::Result<()> {
    let data: Vec<String> = options
        .iter()
        .map(|(key, value)| if value.is_empty() { key.to_string() } else { format!("{key}={value}") })
        .collect();
    let data = std::ffi::CString::new(data.join(",")).map_err(io::Error::other)?;
    let target = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&point));
    let mut mount_flags = rustix::mount::MountFlags::empty();
    if flags.read_only {
        mount_flags |= rustix::mount::MountFlags::RDONLY;
    }
    if flags.nosuid {
        mount_flags |= rustix::mount::MountFlags::NOSUID;
    }
    if flags.nodev {
        mount_flags |= rustix::mount::MountFlags::NODEV;
    }
    if flags.noexec {
        mount_flags |= rustix::mount::MountFlags::NOEXEC;
    }
    match rustix::mount::mount(fstype, target.as_str(), fstype, mount_flags, data.as_c_str()) {
        Err(rustix::io::Errno::NOENT) if !Path::new("/proc/self/fd").exists() => {
            let tree = new_filesystem(fstype, options, flags)?;
            attach(tree.as_fd(), point)
        }
        other => Ok(other?),
    }
}
