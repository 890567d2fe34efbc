//! Resolving destinations inside the new root, never outside it.
//!
//! Every lookup goes through `openat2` with `RESOLVE_IN_ROOT`, which treats the new root as
//! `/`: an absolute symlink such as `opt/x -> /tmp/MARKER` in a rootfs resolves to the
//! rootfs's own `tmp/MARKER`, and `..` stops at the root. Missing directories are created
//! one component at a time, each in a parent that was itself resolved this way, and new
//! entries are created with `O_EXCL | O_NOFOLLOW` or `mkdirat`, which never follow a final
//! symlink.

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use std::cell::RefCell;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// What a mount point must be: a directory, or a file for a bind of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Dir,
    File,
}

/// Resolves paths inside one root and remembers the last parent directory it resolved,
/// because consecutive grants usually share one (`/etc/passwd`, `/etc/group`, ...).
pub(crate) struct Resolver<'a> {
    root: BorrowedFd<'a>,
    last_parent: RefCell<Option<(PathBuf, Rc<OwnedFd>)>>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(root: BorrowedFd<'a>) -> Resolver<'a> {
        Resolver {
            root,
            last_parent: RefCell::new(None),
        }
    }

    /// Opens `path` (absolute, inside the sandbox), following symlinks only within the root.
    pub(crate) fn open(&self, path: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        open_in_root(self.root, path, flags)
    }

    /// Opens the directory `path` as `O_PATH`, creating it and its missing parents with `mode`.
    ///
    /// A component that is a symlink to a missing target is followed inside the root, as the
    /// sandbox will see it, and the target is created there: in a rootfs, `opt/x -> /srv/x`
    /// means the rootfs's own `srv/x`.
    pub(crate) fn make_dirs(&self, path: &Path, mode: u32) -> io::Result<OwnedFd> {
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        match self.open(path, flags) {
            Err(error) if error.raw_os_error() == Some(libc::ENOENT) => {}
            other => return other,
        }
        let mut pending: Vec<std::ffi::OsString> = normal_components(path);
        pending.reverse();
        let mut current = PathBuf::from("/");
        let mut dir = self.open(&current, flags)?;
        let mut symlinks_followed = 0;
        while let Some(name) = pending.pop() {
            let next = current.join(&name);
            match self.open(&next, flags) {
                Ok(opened) => {
                    dir = opened;
                    current = next;
                    continue;
                }
                Err(error) if error.raw_os_error() != Some(libc::ENOENT) => return Err(error),
                Err(_) => {}
            }
            match rustix::fs::mkdirat(&dir, name.as_os_str(), Mode::from_raw_mode(mode)) {
                Ok(()) => {
                    dir = self.open(&next, flags)?;
                    current = next;
                }
                Err(rustix::io::Errno::EXIST) => {
                    // Present but unresolvable: a symlink whose target is missing.
                    symlinks_followed += 1;
                    if symlinks_followed > MAX_SYMLINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let target = rustix::fs::readlinkat(&dir, name.as_os_str(), Vec::new())?;
                    let target = PathBuf::from(std::ffi::OsStr::from_bytes(target.to_bytes()));
                    let restart = if target.is_absolute() { target } else { current.join(target) };
                    let mut remaining = normal_components(&restart);
                    remaining.reverse();
                    pending.extend(remaining);
                    current = PathBuf::from("/");
                    dir = self.open(&current, flags)?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(dir)
    }

    /// Opens the parent directory of `path`, creating it when missing; returns it and the
    /// last component of `path`.
    pub(crate) fn parent<'p>(&self, path: &'p Path) -> io::Result<(Rc<OwnedFd>, &'p OsStr)> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no last component"))?;
        let parent = path.parent().unwrap_or(Path::new("/"));
        if let Some((cached, fd)) = &*self.last_parent.borrow() {
            if cached == parent {
                return Ok((fd.clone(), name));
            }
        }
        let fd = Rc::new(self.make_dirs(parent, 0o755)?);
        *self.last_parent.borrow_mut() = Some((parent.to_path_buf(), fd.clone()));
        Ok((fd, name))
    }

    /// Records that something was mounted at `dest`, which may hide the remembered parent.
    pub(crate) fn mounted(&self, dest: &Path) {
        let mut last = self.last_parent.borrow_mut();
        if last.as_ref().is_some_and(|(cached, _)| cached.starts_with(dest)) {
            *last = None;
        }
    }

    /// Opens the mount point at `path`, creating it when missing. An existing path of the
    /// wrong type is an error that says so.
    pub(crate) fn mount_point(&self, path: &Path, target: Target) -> io::Result<OwnedFd> {
        let (parent, name) = self.parent(path)?;
        let created = match target {
            Target::Dir => match rustix::fs::mkdirat(&*parent, name, Mode::from_raw_mode(0o755)) {
                Ok(()) => Some(rustix::fs::openat(&*parent, name, OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?),
                Err(rustix::io::Errno::EXIST) => None,
                Err(error) => return Err(error.into()),
            },
            Target::File => {
                let flags = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC;
                match rustix::fs::openat(&*parent, name, flags, Mode::from_raw_mode(0o644)) {
                    Ok(fd) => Some(fd),
                    Err(rustix::io::Errno::EXIST) => None,
                    Err(error) => return Err(error.into()),
                }
            }
        };
        if let Some(fd) = created {
            return Ok(fd);
        }

        // Something is there already: it may be a symlink to follow inside the root.
        let fd = self.open(path, OFlags::PATH).map_err(|error| {
            if error.raw_os_error() == Some(libc::ENOENT) {
                io::Error::new(io::ErrorKind::NotFound, "it is a symlink whose target is missing")
            } else {
                error
            }
        })?;
        let is_dir = FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) == FileType::Directory;
        match (target, is_dir) {
            (Target::Dir, false) => Err(io::Error::new(io::ErrorKind::NotADirectory, "it exists and is not a directory")),
            (Target::File, true) => Err(io::Error::new(io::ErrorKind::IsADirectory, "it exists and is a directory, but the source is a file")),
            _ => Ok(fd),
        }
    }

    /// Creates a new file at `path` for writing; fails on any existing entry, dangling
    /// symlinks included, so a planted symlink cannot redirect the write.
    pub(crate) fn create_file(&self, path: &Path, mode: u32) -> io::Result<OwnedFd> {
        let (parent, name) = self.parent(path)?;
        let flags = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC;
        match rustix::fs::openat(&*parent, name, flags, Mode::from_raw_mode(mode)) {
            Err(rustix::io::Errno::EXIST) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "something is already there (perhaps a symlink whose target is missing)",
            )),
            other => Ok(other?),
        }
    }
}

/// How many dangling symlinks [`Resolver::make_dirs`] follows before it gives up, as the
/// kernel's own limit for one lookup.
const MAX_SYMLINKS: usize = 40;

/// The names in `path`, with `..` applied lexically and `.` dropped; `..` never climbs
/// above the root.
fn normal_components(path: &Path) -> Vec<std::ffi::OsString> {
    let mut names = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => names.push(name.to_os_string()),
            Component::ParentDir => {
                names.pop();
            }
            _ => {}
        }
    }
    names
}

/// Opens `path` (absolute, inside the sandbox) relative to `root`, following symlinks only
/// within it.
pub(crate) fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    let relative = relative(path);
    // openat2 rejects O_NOCTTY next to O_PATH, which never opens a terminal anyway.
    let flags = if flags.contains(OFlags::PATH) { flags | OFlags::CLOEXEC } else { flags | OFlags::CLOEXEC | OFlags::NOCTTY };
    loop {
        match rustix::fs::openat2(root, &relative, flags, Mode::empty(), RESOLVE) {
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// `path` without its leading `/`, for lookups relative to the root descriptor.
fn relative(path: &Path) -> PathBuf {
    let stripped = path.strip_prefix("/").unwrap_or(path);
    if stripped.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        stripped.to_path_buf()
    }
}

impl AsFd for Resolver<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_of(dir: &Path) -> OwnedFd {
        rustix::fs::open(dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).unwrap()
    }

    #[test]
    fn absolute_symlink_stays_inside() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let marker = outside.path().join("marker");
        std::fs::create_dir(root.path().join("opt")).unwrap();
        std::os::unix::fs::symlink(&marker, root.path().join("opt/x")).unwrap();

        let fd = root_of(root.path());
        let resolver = Resolver::new(fd.as_fd());
        resolver.mount_point(Path::new("/opt/x/dir"), Target::Dir).unwrap();
        assert!(!marker.exists(), "resolution escaped the root");
        let inside = root.path().join(marker.strip_prefix("/").unwrap()).join("dir");
        assert!(inside.is_dir(), "{} was not created", inside.display());
    }

    #[test]
    fn dotdot_symlink_stays_inside() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("../../../../..", root.path().join("up")).unwrap();
        let fd = root_of(root.path());
        let opened = open_in_root(fd.as_fd(), Path::new("/up"), OFlags::PATH).unwrap();
        let stat = rustix::fs::fstat(&opened).unwrap();
        let root_stat = rustix::fs::stat(root.path()).unwrap();
        assert_eq!(stat.st_ino, root_stat.st_ino);
    }

    #[test]
    fn file_mount_point_refuses_dangling_symlink() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("planted"), root.path().join("f")).unwrap();
        let fd = root_of(root.path());
        let resolver = Resolver::new(fd.as_fd());
        assert!(resolver.mount_point(Path::new("/f"), Target::File).is_err());
        assert!(resolver.create_file(Path::new("/f"), 0o644).is_err());
        assert!(!outside.path().join("planted").exists());
    }

    #[test]
    fn wrong_type_is_reported() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("file"), b"").unwrap();
        let fd = root_of(root.path());
        let error = Resolver::new(fd.as_fd()).mount_point(Path::new("/file"), Target::Dir).unwrap_err();
        assert!(error.to_string().contains("not a directory"), "{error}");
    }

    #[test]
    fn parent_is_reused_until_covered() {
        let root = tempfile::tempdir().unwrap();
        let fd = root_of(root.path());
        let resolver = Resolver::new(fd.as_fd());
        let (first, _) = resolver.parent(Path::new("/etc/a")).unwrap();
        let (second, _) = resolver.parent(Path::new("/etc/b")).unwrap();
        assert!(Rc::ptr_eq(&first, &second));
        resolver.mounted(Path::new("/etc"));
        let (third, _) = resolver.parent(Path::new("/etc/c")).unwrap();
        assert!(!Rc::ptr_eq(&first, &third));
    }
}
