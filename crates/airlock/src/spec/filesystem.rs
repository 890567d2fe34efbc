use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the sandbox sees of the file system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Filesystem {
    /// The sandbox's `/`; without it the root is a fresh tmpfs that holds only the grants.
    pub rootfs: Option<PathBuf>,
    /// Filesystem grants, applied in order, so a later one can cover an earlier one.
    pub mounts: Vec<Mount>,
}

/// How a bind mount may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindMode {
    /// Read-write, without device access.
    ReadWrite,
    /// Read-only, also in every mount below the source.
    ReadOnly,
    /// Read-write with device nodes usable.
    Device,
}

/// Where a `--file` grant takes its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileSource {
    Path(PathBuf),
    Stdin,
}

/// One filesystem grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Mount {
    /// A host file or directory, seen at `dest`.
    Bind {
        src: PathBuf,
        dest: PathBuf,
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
