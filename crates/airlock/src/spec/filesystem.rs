use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the sandbox sees of the file system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Filesystem {
    /// The sandbox's `/`; without it the root is a fresh tmpfs that holds only the grants.
    pub rootfs: Option<PathBuf>,
    /// Filesystem grants, applied in order, so a later one can cover an earlier one.
    pub mounts: Vec<Mount>,
    /// Start from the default view (system directories read-only, a private `/tmp`, a
    /// minimal `/dev`, a fresh `/proc`) and apply the grants on top of it, as when no grant
    /// is given at all. Not with a `rootfs`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default_view: bool,
}

/// How a bind mount may be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BindMode {
    /// Read-write, without device access.
    ReadWrite,
    /// Read-only, also in every mount below the source; the default in profiles.
    #[default]
    ReadOnly,
    /// Read-write with device nodes usable.
    Device,
}

/// Where a `--file` grant takes its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FileSource {
    Path(PathBuf),
    Stdin,
}

/// One filesystem grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Mount {
    /// A host file or directory, seen at `dest`.
    Bind {
        src: PathBuf,
        dest: PathBuf,
        #[serde(default)]
        mode: BindMode,
        /// Skip the grant when the source does not exist.
        #[serde(default)]
        optional: bool,
    },
    /// A new tmpfs.
    Tmpfs {
        dest: PathBuf,
        /// Maximum size in bytes.
        #[serde(default)]
        size: Option<u64>,
        /// Permission bits of its root directory (octal in profiles).
        #[serde(default)]
        mode: Option<u32>,
    },
    /// An empty directory.
    Dir {
        dest: PathBuf,
        #[serde(default)]
        mode: Option<u32>,
    },
    /// A symbolic link at `link` that points to `target`.
    Symlink { target: String, link: PathBuf },
    /// A copy of a host file (or of standard input).
    File {
        src: FileSource,
        dest: PathBuf,
        #[serde(default)]
        mode: Option<u32>,
    },
    /// Make what is already at `dest` read-only.
    RemountRo { dest: PathBuf },
    /// A procfs of the sandbox's PID namespace, with sensitive files masked.
    Proc { dest: PathBuf },
    /// A minimal `/dev`.
    Dev { dest: PathBuf },
    /// A POSIX message queue file system.
    Mqueue { dest: PathBuf },
    /// A read-only sysfs.
    Sys { dest: PathBuf },
    /// An overlay of read-only `lower` directories and a writable upper layer: a host
    /// directory (changes persist) or, when `upper` is absent, a tmpfs (changes vanish).
    Overlay {
        dest: PathBuf,
        lower: Vec<PathBuf>,
        #[serde(default)]
        upper: Option<PathBuf>,
        #[serde(default)]
        work: Option<PathBuf>,
    },
}

impl Mount {
    /// The path inside the sandbox this grant creates or changes.
    pub fn dest(&self) -> &std::path::Path {
        match self {
            Mount::Bind { dest, .. }
            | Mount::Tmpfs { dest, .. }
            | Mount::Dir { dest, .. }
            | Mount::File { dest, .. }
            | Mount::RemountRo { dest }
            | Mount::Proc { dest }
            | Mount::Dev { dest }
            | Mount::Mqueue { dest }
            | Mount::Sys { dest }
            | Mount::Overlay { dest, .. } => dest,
            Mount::Symlink { link, .. } => link,
        }
    }
}

impl Filesystem {
    /// Whether the default view applies: asked for, or nothing else granted.
    pub fn is_default_view(&self) -> bool {
        self.rootfs.is_none() && (self.default_view || self.mounts.is_empty())
    }

    /// Checks every grant before anything is created: absolute destinations without `..`,
    /// nothing under `/proc`, sources that exist and have the right type, and no grant that
    /// clashes with an earlier one at the same place.
    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        if let Some(rootfs) = &self.rootfs {
            let meta = std::fs::metadata(rootfs).map_err(|error| SpecError::path(rootfs, crate::error::describe(&error)))?;
            if !meta.is_dir() {
                return Err(SpecError::path(rootfs, "--rootfs needs a directory"));
            }
            if self.default_view {
                return Err(SpecError::path(rootfs, "the default view is made of the host's directories; it cannot start from a --rootfs"));
            }
        }
        let mut tree = VirtualTree::default();
        for mount in &self.mounts {
            validate_dest(mount)?;
            let source_is_dir = validate_sources(mount)?;
            let Some(kind) = created_kind(mount, source_is_dir) else {
                continue;
            };
            tree.place(mount, kind)?;
        }
        Ok(())
    }
}

use super::SpecError;
use std::collections::BTreeMap;
use std::path::{Component, Path};

/// What a grant puts at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Symlink,
}

fn validate_dest(mount: &Mount) -> Result<(), SpecError> {
    let dest = mount.dest();
    let shown = dest.display();
    if !dest.is_absolute() {
        return Err(SpecError::invalid("destination", shown, "destinations are paths inside the sandbox and must start with /"));
    }
    if dest.components().any(|c| matches!(c, Component::ParentDir)) || dest.to_string_lossy().split('/').any(|part| part == ".") {
        return Err(SpecError::invalid("destination", shown, "'.' and '..' are not allowed in destinations"));
    }
    let is_root = dest.components().count() == 1;
    if is_root && !matches!(mount, Mount::RemountRo { .. }) {
        return Err(SpecError::invalid(
            "destination",
            shown,
            "a grant cannot replace /; use --rootfs DIR to choose the sandbox's root",
        ));
    }
    let under_proc = dest.starts_with("/proc");
    let proc_itself = matches!(mount, Mount::Proc { .. }) && dest == Path::new("/proc");
    if under_proc && !proc_itself {
        return Err(SpecError::invalid(
            "destination",
            shown,
            "grants under /proc are not allowed: they could uncover what airlock masks there",
        ));
    }
    Ok(())
}

/// Checks the host sources of a grant; returns whether a bind's source is a directory (`None`
/// when the grant has no such source or an optional one is missing).
fn validate_sources(mount: &Mount) -> Result<Option<bool>, SpecError> {
    let exists = |path: &Path| -> Result<std::fs::Metadata, SpecError> {
        std::fs::metadata(path).map_err(|error| SpecError::path(path, crate::error::describe(&error)))
    };
    match mount {
        Mount::Bind { src, optional, .. } => {
            return match std::fs::metadata(src) {
                Ok(meta) => Ok(Some(meta.is_dir())),
                Err(_) if *optional => Ok(None),
                Err(error) => Err(SpecError::path(src, crate::error::describe(&error))),
            };
        }
        Mount::File { src: FileSource::Path(src), .. } if !exists(src)?.is_file() => {
            return Err(SpecError::path(src, "--file copies a regular file; this is not one"));
        }
        Mount::Tmpfs { size: Some(0), dest, .. } => {
            return Err(SpecError::invalid("tmpfs size", dest.display(), "the size must be more than 0"));
        }
        Mount::Symlink { target, link } if target.is_empty() => {
            return Err(SpecError::invalid("symlink target", link.display(), "the target is empty"));
        }
        Mount::Overlay { lower, upper, work, dest } => {
            if lower.is_empty() {
                return Err(SpecError::invalid(
                    "overlay",
                    dest.display(),
                    "it needs at least one lower directory (--overlay-src DIR before the overlay grant)",
                ));
            }
            for dir in lower {
                if !exists(dir)?.is_dir() {
                    return Err(SpecError::path(dir, "an overlay layer must be a directory"));
                }
            }
            match (upper, work) {
                (Some(upper), Some(work)) => {
                    let upper_meta = exists(upper)?;
                    let work_meta = exists(work)?;
                    if !upper_meta.is_dir() || !work_meta.is_dir() {
                        return Err(SpecError::path(upper, "the overlay's upper and work paths must be directories"));
                    }
                    if std::os::unix::fs::MetadataExt::dev(&upper_meta) != std::os::unix::fs::MetadataExt::dev(&work_meta) {
                        return Err(SpecError::path(work, "the overlay's work directory must be on the same file system as its upper directory"));
                    }
                    if lower.iter().any(|dir| dir == upper) {
                        return Err(SpecError::path(upper, "the overlay's upper directory cannot also be a lower one"));
                    }
                }
                (None, None) => {}
                _ => {
                    return Err(SpecError::invalid("overlay", dest.display(), "give both an upper and a work directory, or neither"));
                }
            }
        }
        _ => {}
    }
    Ok(None)
}

/// What a grant puts at its destination, or `None` when it only changes what is there or is
/// skipped.
fn created_kind(mount: &Mount, source_is_dir: Option<bool>) -> Option<Kind> {
    match mount {
        Mount::Bind { .. } => source_is_dir.map(|is_dir| if is_dir { Kind::Dir } else { Kind::File }),
        Mount::File { .. } => Some(Kind::File),
        Mount::Symlink { .. } => Some(Kind::Symlink),
        Mount::RemountRo { .. } => None,
        _ => Some(Kind::Dir),
    }
}

/// The paths earlier grants created, to find clashes before anything is mounted.
#[derive(Default)]
struct VirtualTree {
    entries: BTreeMap<std::path::PathBuf, Kind>,
}

impl VirtualTree {
    fn place(&mut self, mount: &Mount, kind: Kind) -> Result<(), SpecError> {
        let dest = mount.dest();
        for ancestor in dest.ancestors().skip(1) {
            match self.entries.get(ancestor) {
                Some(Kind::File) => {
                    return Err(SpecError::Conflict(format!(
                        "cannot place {} inside {}: an earlier grant put a file there",
                        dest.display(),
                        ancestor.display()
                    )));
                }
                // A destination below a symlink resolves through it, inside the sandbox.
                Some(Kind::Symlink) => return self.insert(dest, kind),
                _ => {}
            }
        }
        match (self.entries.get(dest).copied(), kind) {
            (None, _) => {}
            (Some(Kind::Symlink), _) if kind != Kind::Symlink => {}
            (Some(existing), new) if existing == new && new != Kind::Symlink => {}
            (Some(existing), new) => {
                return Err(SpecError::Conflict(format!(
                    "cannot put a {} at {}: an earlier grant put a {} there",
                    kind_name(new),
                    dest.display(),
                    kind_name(existing)
                )));
            }
        }
        self.insert(dest, kind)
    }

    fn insert(&mut self, dest: &Path, kind: Kind) -> Result<(), SpecError> {
        // A new directory mount hides whatever earlier grants put below it.
        if kind == Kind::Dir {
            let below: Vec<_> = self.entries.keys().filter(|path| path.starts_with(dest) && *path != dest).cloned().collect();
            for path in below {
                self.entries.remove(&path);
            }
        }
        self.entries.insert(dest.to_path_buf(), kind);
        Ok(())
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Dir => "directory",
        Kind::File => "file",
        Kind::Symlink => "symlink",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn bind(src: &str, dest: &str) -> Mount {
        Mount::Bind { src: src.into(), dest: dest.into(), mode: BindMode::ReadOnly, optional: false }
    }

    fn check(mounts: Vec<Mount>) -> Result<(), SpecError> {
        Filesystem { rootfs: None, mounts, default_view: false }.validate()
    }

    #[test]
    fn accepts_ordinary_grants() {
        check(vec![
            bind("/usr", "/usr"),
            Mount::Tmpfs { dest: "/tmp".into(), size: None, mode: None },
            Mount::Proc { dest: "/proc".into() },
            Mount::Symlink { target: "usr/bin".into(), link: "/bin".into() },
            bind("/etc/hostname", "/etc/hostname"),
            Mount::Dir { dest: "/path with space/ünï:côde".into(), mode: None },
        ])
        .unwrap();
    }

    #[test]
    fn rejects_bad_destinations() {
        for dest in ["relative", "/a/../b", "/a/./b", "/proc/sys", "/proc", "/"] {
            let result = check(vec![bind("/usr", dest)]);
            assert!(result.is_err(), "{dest} was accepted");
        }
    }

    #[test]
    fn rejects_missing_source() {
        let error = check(vec![bind("/no/such/source", "/x")]).unwrap_err().to_string();
        assert!(error.contains("/no/such/source"), "{error}");
        let optional = Mount::Bind { src: "/no/such/source".into(), dest: "/x".into(), mode: BindMode::ReadOnly, optional: true };
        check(vec![optional]).unwrap();
    }

    #[test]
    fn rejects_clashes() {
        let symlink = Mount::Symlink { target: "x".into(), link: "/a".into() };
        assert!(check(vec![bind("/usr", "/a"), symlink.clone()]).is_err());
        let file = Mount::File { src: FileSource::Path("/etc/hostname".into()), dest: "/a".into(), mode: None };
        assert!(check(vec![bind("/usr", "/a"), file.clone()]).is_err());
        assert!(check(vec![file, bind("/usr", "/a/b")]).is_err());
        // Covering a directory with another directory is the point of ordered grants.
        check(vec![bind("/usr", "/a"), Mount::Tmpfs { dest: "/a".into(), size: None, mode: None }]).unwrap();
        // Below a symlink, resolution happens inside the sandbox.
        check(vec![symlink, bind("/usr", "/a/b")]).unwrap();
    }

    #[test]
    fn overlay_needs_lower_layers() {
        let overlay = Mount::Overlay { dest: "/o".into(), lower: vec![], upper: None, work: None };
        assert!(check(vec![overlay]).is_err());
        let overlay = Mount::Overlay { dest: "/o".into(), lower: vec![PathBuf::from("/usr")], upper: None, work: None };
        check(vec![overlay]).unwrap();
    }
}
