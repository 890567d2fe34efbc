//! A minimal `/dev`: the harmless device nodes, a terminal multiplexer of the sandbox's own,
//! a POSIX shared-memory tmpfs and the usual links to `/proc/self/fd`.

use super::mount_api::{self, Flags};
use super::resolve::{Resolver, Target};
use crate::child::{AtStep, SetupError};
use crate::launch::channel::Step;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Device nodes bound from the host: none of them reaches hardware or other processes.
const NODES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Links every `/dev` has.
const LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// The host's device nodes, captured before the new root hides them, and the shared
/// `/dev/shm` directory when there is one.
pub(crate) struct Sources {
    nodes: Vec<(&'static str, OwnedFd)>,
    shm: Option<OwnedFd>,
}

impl Sources {
    pub(crate) fn capture(shm_dir: Option<&Path>) -> std::io::Result<Sources> {
        let mut nodes = Vec::new();
        for name in NODES {
            let path = Path::new("/dev").join(name);
            // The copies keep the flags of the host's /dev mount.
            nodes.push((name, mount_api::clone_tree(rustix::fs::CWD, &path, Flags::NONE)?));
        }
        let shm = match shm_dir {
            Some(dir) => Some(mount_api::clone_tree(rustix::fs::CWD, dir, Flags { nosuid: true, nodev: true, ..Flags::NONE })?),
            None => None,
        };
        Ok(Sources { nodes, shm })
    }
}

/// Builds the minimal `/dev` at `dest`; `tty_group` says whether group 5 exists inside.
pub(crate) fn build(resolver: &Resolver<'_>, dest: &Path, sources: Sources, tty_group: bool) -> Result<(), SetupError> {
    let fail = |error: String| SetupError::new(Step::Mounts, format!("cannot build {}: {error}", dest.display()));
    super::mount_new(resolver, dest, "tmpfs", &[("mode", "0755"), ("size", "64k")], Flags { nosuid: true, noexec: true, ..Flags::NONE })?;

    for (name, tree) in sources.nodes {
        super::attach_at(resolver, &dest.join(name), Target::File, tree.as_fd()).map_err(fail)?;
    }
    mount_devpts(resolver, &dest.join("pts"), tty_group)?;
    match sources.shm {
        Some(shared) => super::attach_at(resolver, &dest.join("shm"), Target::Dir, shared.as_fd()).map_err(fail)?,
        None => super::mount_new(resolver, &dest.join("shm"), "tmpfs", &[("mode", "1777")], Flags { nosuid: true, nodev: true, ..Flags::NONE })?,
    }

    let (dev, _) = resolver.parent(&dest.join("fd")).map_err(|error| fail(crate::error::describe(&error)))?;
    for (name, target) in LINKS {
        rustix::fs::symlinkat(target, &*dev, name).at(Step::Mounts, || format!("cannot create {}/{name}", dest.display()))?;
    }
    Ok(())
}

/// Mounts a devpts instance of the sandbox's own, so its terminals are invisible to the host
/// and the host's are invisible to it. Terminals belong to group 5 (`tty`) when the sandbox
/// maps that group.
fn mount_devpts(resolver: &Resolver<'_>, dest: &Path, tty_group: bool) -> Result<(), SetupError> {
    let what = || format!("cannot mount devpts on {}", dest.display());
    let flags = Flags { nosuid: true, noexec: true, ..Flags::NONE };
    let mut options = vec![("newinstance", ""), ("ptmxmode", "0666"), ("mode", "0620")];
    if tty_group {
        options.push(("gid", "5"));
    }
    let _ = what;
    super::mount_new(resolver, dest, "devpts", &options, flags)
}
