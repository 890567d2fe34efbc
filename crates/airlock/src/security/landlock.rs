//! Landlock: a second wall behind the mounts.
//!
//! The rules mirror the filesystem grants, in the sandbox's own paths: the root is readable
//! (writable too with a read-write `--rootfs`), read-write binds, tmpfs, overlays and `/dev`
//! are writable, `/proc` takes writes to files. Access rights are inherited down a path, so a
//! read-only bind needs no rule of its own. What Landlock adds is that a path the mounts do
//! not show, reached through a descriptor passed in from outside, stays closed.
//!
//! Where the sandbox shares its network or PID namespace with the caller, Landlock's scopes
//! (ABI 6) keep the payload from connecting to the caller's abstract unix sockets or
//! signalling its processes. With namespaces of its own those are out of reach already, and
//! a scope would also cut off processes that `airlock exec` starts later, which get a
//! Landlock domain of their own.

use crate::child::SetupError;
use crate::launch::channel::Step;
use crate::spec::{BindMode, LandlockMode, Mount, NetMode, NsSource, Spec};
use landlock::{
    Access, AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    Scope, ABI,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The newest ABI whose rights airlock asks for; older kernels enforce what they can.
const TARGET_ABI: ABI = ABI::V6;

/// What Landlock did for a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LandlockStatus {
    /// Every requested restriction is in force.
    Enforced { abi: u32 },
    /// The kernel's ABI enforces only part of the rights airlock asks for.
    Partial { abi: u32 },
    /// The kernel has no Landlock.
    Unsupported,
    /// `--landlock off`.
    Off,
}

impl std::fmt::Display for LandlockStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LandlockStatus::Enforced { abi } => write!(f, "enforced (ABI {abi})"),
            LandlockStatus::Partial { abi } => write!(f, "partly enforced: the kernel's ABI {abi} lacks some rights"),
            LandlockStatus::Unsupported => write!(f, "not supported by the kernel"),
            LandlockStatus::Off => write!(f, "off"),
        }
    }
}

/// The rules for the grants that were mounted, ready to be enforced.
///
/// Preparing opens each rule's path; enforcing opens nothing. So the payload prepares the
/// rules before its rlimits apply, when a low `--rlimit nofile` still leaves room for
/// those descriptors, and enforces them after its capabilities are gone.
pub(crate) struct Prepared {
    ruleset: Option<landlock::RulesetCreated>,
    required: bool,
}

/// Creates the ruleset for the grants that were mounted and adds their rules.
pub(crate) fn prepare(spec: &Spec, mounts: &[Mount]) -> Result<Prepared, SetupError> {
    let required = spec.security.landlock == LandlockMode::Required;
    if spec.security.landlock == LandlockMode::Off {
        return Ok(Prepared { ruleset: None, required });
    }

    let mut ruleset = Ruleset::default().handle_access(AccessFs::from_all(TARGET_ABI)).map_err(|e| fail(&e))?;
    if spec.network.mode == NetMode::Host {
        ruleset = ruleset.scope(Scope::AbstractUnixSocket).map_err(|e| fail(&e))?;
    }
    if spec.namespaces.pid != NsSource::New {
        ruleset = ruleset.scope(Scope::Signal).map_err(|e| fail(&e))?;
    }
    let mut created = ruleset.create().map_err(|e| fail(&e))?;
    for (path, access) in rules(spec, mounts) {
        let fd = match PathFd::new(&path) {
            Ok(fd) => fd,
            // A skipped optional grant leaves nothing to cover.
            Err(_) if !path.exists() => continue,
            Err(error) => return Err(fail(&format!("{}: {error}", path.display()))),
        };
        created = created.add_rule(PathBeneath::new(fd, access)).map_err(|e| fail(&e))?;
    }
    Ok(Prepared { ruleset: Some(created), required })
}

impl Prepared {
    /// Restricts the calling process to the rules; returns what the kernel enforced.
    pub(crate) fn enforce(self) -> Result<LandlockStatus, SetupError> {
        let Some(created) = self.ruleset else {
            return Ok(LandlockStatus::Off);
        };
        let status = created.restrict_self().map_err(|e| fail(&e))?;

        let abi = match status.landlock {
            landlock::LandlockStatus::Available { effective_abi, .. } => effective_abi as u32,
            _ => 0,
        };
        let applied = match status.ruleset {
            RulesetStatus::FullyEnforced => LandlockStatus::Enforced { abi },
            RulesetStatus::PartiallyEnforced => LandlockStatus::Partial { abi },
            RulesetStatus::NotEnforced => LandlockStatus::Unsupported,
        };
        if applied == LandlockStatus::Unsupported && self.required {
            return Err(SetupError::new(
                Step::Landlock,
                "Landlock is required but this kernel does not provide it (Linux 5.13 or newer, with \"landlock\" in the lsm= boot parameter); use --landlock auto or off",
            ));
        }
        Ok(applied)
    }
}

fn fail(error: &dyn std::fmt::Display) -> SetupError {
    SetupError::new(Step::Landlock, format!("cannot apply the Landlock rules: {error}"))
}

/// The Landlock ABI the running kernel provides, 0 without Landlock.
pub fn kernel_abi() -> u32 {
    // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION and no attributes the call only returns
    // the ABI version; it reads no memory.
    let version = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32) };
    u32::try_from(version).unwrap_or(0)
}

fn read_access() -> BitFlags<AccessFs> {
    AccessFs::from_read(TARGET_ABI)
}

fn full_access() -> BitFlags<AccessFs> {
    AccessFs::from_all(TARGET_ABI)
}

/// The rules for a plan: each path inside the sandbox and the rights granted beneath it.
fn rules(spec: &Spec, mounts: &[Mount]) -> Vec<(PathBuf, BitFlags<AccessFs>)> {
    let root = if spec.filesystem.rootfs.is_some() { full_access() } else { read_access() };
    let mut rules = vec![(PathBuf::from("/"), root)];
    for mount in mounts {
        let access = match mount {
            Mount::Bind { mode: BindMode::ReadOnly, .. } | Mount::Sys { .. } => Some(read_access()),
            Mount::Bind { .. } | Mount::Tmpfs { .. } | Mount::Overlay { .. } | Mount::Mqueue { .. } | Mount::Dev { .. } => {
                Some(full_access())
            }
            Mount::Proc { .. } => Some(read_access() | AccessFs::WriteFile),
            Mount::Dir { .. } | Mount::Symlink { .. } | Mount::File { .. } | Mount::RemountRo { .. } => None,
        };
        // Rights are inherited down a path, so what the root grants needs no rule.
        if let Some(access) = access.filter(|access| !root.contains(*access)) {
            rules.push((mount.dest().to_path_buf(), access));
        }
    }
    rules
}
