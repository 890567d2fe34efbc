//! The state directory: where named sandboxes are recorded.
//!
//! `/run/airlock` for root, `$XDG_RUNTIME_DIR/airlock` for everyone else (or
//! `/run/user/UID/airlock`, or `/tmp/airlock-UID`, in that order, when the variable is not
//! set), unless `AIRLOCK_STATE_DIR` names one. The directory and everything in it must belong to the caller: airlock refuses
//! anything else, so no other user can plant or change a record it acts on. Each sandbox has
//! a directory `sandboxes/NAME` holding its record (`state.json`), its log and, for sharing,
//! its `/dev/shm`. Records are replaced atomically (written beside, then renamed) under an
//! exclusive lock on `lock`.

use super::NamedError;
use super::Record;
use rustix::fs::{FlockOperation, Mode, OFlags};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The longest sandbox name; it also names files and cgroups.
pub const MAX_NAME: usize = 63;

/// The state directory of the calling user.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// An exclusive lock on the state directory, released on drop.
pub struct Lock {
    _file: OwnedFd,
}

impl StateDir {
    /// Opens (creating when missing) the calling user's state directory.
    pub fn open() -> Result<StateDir, NamedError> {
        let root = default_root();
        StateDir::open_at(root)
    }

    /// Opens (creating when missing) a state directory at `root`.
    pub fn open_at(root: PathBuf) -> Result<StateDir, NamedError> {
        let uid = rustix::process::geteuid().as_raw();
        match std::fs::DirBuilder::new().recursive(false).mode(0o700).create(&root) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = root.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| NamedError::io("create", parent, e))?;
                }
                std::fs::DirBuilder::new().mode(0o700).create(&root).map_err(|e| NamedError::io("create", &root, e))?;
            }
            Err(error) => return Err(NamedError::io("create", &root, error)),
        }
        check_owned(&root, uid)?;
        let state = StateDir { root };
        state.subdir("sandboxes")?;
        Ok(state)
    }

    /// Opens (creating when missing) the directory `name` below the root, with the same
    /// ownership checks.
    pub(crate) fn subdir(&self, name: &str) -> Result<PathBuf, NamedError> {
        let uid = rustix::process::geteuid().as_raw();
        let dir = self.root.join(name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => Ok(dir),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => check_owned(&dir, uid).map(|()| dir),
            Err(error) => Err(NamedError::io("create", &dir, error)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Takes the exclusive lock that every change to a record is made under.
    pub fn lock(&self) -> Result<Lock, NamedError> {
        let path = self.root.join("lock");
        let file = rustix::fs::open(&path, OFlags::RDWR | OFlags::CREATE | OFlags::CLOEXEC | OFlags::NOFOLLOW, Mode::from_raw_mode(0o600))
            .map_err(|e| NamedError::io("open", &path, e.into()))?;
        rustix::fs::flock(&file, FlockOperation::LockExclusive).map_err(|e| NamedError::io("lock", &path, e.into()))?;
        Ok(Lock { _file: file })
    }

    /// The directory of the sandbox `name`.
    pub fn slot(&self, name: &str) -> PathBuf {
        self.root.join("sandboxes").join(name)
    }

    /// Claims the name by creating its directory; fails if the name is taken. mkdir is
    /// atomic, so of two concurrent claims exactly one succeeds.
    pub fn claim(&self, name: &str) -> Result<PathBuf, NamedError> {
        check_name(name)?;
        let slot = self.slot(name);
        match std::fs::DirBuilder::new().mode(0o700).create(&slot) {
            Ok(()) => Ok(slot),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Err(NamedError::Exists(name.to_string())),
            Err(error) => Err(NamedError::io("create", &slot, error)),
        }
    }

    /// Reads the record of `name`.
    pub fn read(&self, name: &str) -> Result<Record, NamedError> {
        check_name(name)?;
        let slot = self.slot(name);
        let path = slot.join("state.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(NamedError::NotFound(name.to_string())),
            Err(error) => return Err(NamedError::io("read", &path, error)),
        };
        let uid = rustix::process::geteuid().as_raw();
        check_owned(&slot, uid)?;
        check_owned(&path, uid)?;
        serde_json::from_str(&text).map_err(|error| NamedError::Corrupt { path, reason: error.to_string() })
    }

    /// Replaces the record of its sandbox atomically.
    pub fn write(&self, record: &Record) -> Result<(), NamedError> {
        let slot = self.slot(&record.name);
        let path = slot.join("state.json");
        let temporary = slot.join(".state.json.new");
        let text = serde_json::to_vec_pretty(record).map_err(|error| NamedError::Corrupt { path: path.clone(), reason: error.to_string() })?;
        std::fs::write(&temporary, text).map_err(|e| NamedError::io("write", &temporary, e))?;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600)).map_err(|e| NamedError::io("write", &temporary, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| NamedError::io("write", &path, e))
    }

    /// Every recorded sandbox name, sorted.
    pub fn names(&self) -> Result<Vec<String>, NamedError> {
        let dir = self.root.join("sandboxes");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| NamedError::io("read", &dir, e))?
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| check_name(name).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Removes a sandbox's directory and everything in it.
    pub fn remove(&self, name: &str) -> Result<(), NamedError> {
        check_name(name)?;
        let slot = self.slot(name);
        match std::fs::remove_dir_all(&slot) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(NamedError::io("remove", &slot, error)),
        }
    }
}

/// Where the calling user's state lives; `AIRLOCK_STATE_DIR` chooses another place (the
/// same ownership rules apply there).
fn default_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("AIRLOCK_STATE_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    let uid = rustix::process::geteuid().as_raw();
    if uid == 0 {
        return PathBuf::from("/run/airlock");
    }
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(runtime).join("airlock");
    }
    let run_user = PathBuf::from(format!("/run/user/{uid}"));
    if std::fs::metadata(&run_user).is_ok_and(|meta| meta.uid() == uid && meta.is_dir()) {
        return run_user.join("airlock");
    }
    PathBuf::from(format!("/tmp/airlock-{uid}"))
}

/// Refuses a path that is not the caller's own (or that is a symlink, or open to others).
pub(crate) fn check_owned(path: &Path, uid: u32) -> Result<(), NamedError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| NamedError::io("inspect", path, e))?;
    let why = if meta.file_type().is_symlink() {
        Some("it is a symlink".to_string())
    } else if meta.uid() != uid {
        Some(format!("it belongs to uid {}, not to you (uid {uid})", meta.uid()))
    } else if meta.mode() & 0o022 != 0 {
        Some("others may write to it".to_string())
    } else {
        None
    };
    match why {
        Some(why) => Err(NamedError::Unsafe { path: path.to_path_buf(), why }),
        None => Ok(()),
    }
}

/// Checks a sandbox name: 1 to 63 letters, digits, `_`, `.` and `-`, not starting with `.` or
/// `-`.
pub fn check_name(name: &str) -> Result<(), NamedError> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.chars().all(valid_char)
        && !name.starts_with('.')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(NamedError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["web", "a", "build-7", "x.y_z", &"n".repeat(63)] {
            check_name(good).unwrap();
        }
        for bad in ["", ".hidden", "-flag", "a/b", "..", "sp ace", "ü", &"n".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn claims_are_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open_at(dir.path().join("state")).unwrap();
        state.claim("one").unwrap();
        assert!(matches!(state.claim("one"), Err(NamedError::Exists(_))));
    }

    #[test]
    fn foreign_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = StateDir::open_at(root).unwrap_err().to_string();
        assert!(error.contains("others may write"), "{error}");
    }
}
