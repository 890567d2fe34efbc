//! Choosing the clone flags, and joining existing namespaces (`--netns PATH`) around the
//! clone so the sandbox's first process starts inside them.

use crate::error::{describe, Error};
use crate::spec::{NamespaceKind, NetMode, NsSource, Spec};
use std::fs::File;
use std::os::fd::AsFd;

/// The `CLONE_NEW*` flags for the namespaces the sandbox gets new at clone time. The time
/// and cgroup namespaces are created later by the sandbox itself: `clone3` would put the
/// child into a new time namespace before anyone could set its clock offsets, and into a
/// new cgroup namespace rooted at airlock's cgroup rather than the sandbox's.
pub(crate) fn clone_flags(spec: &Spec) -> u64 {
    let mut flags = NamespaceKind::Mount.clone_flag();
    // The cgroup namespace is created by the sandbox after the supervisor has moved it into
    // its cgroups, so that cgroup is the namespace's root.
    for kind in [NamespaceKind::User, NamespaceKind::Pid, NamespaceKind::Ipc, NamespaceKind::Uts] {
        if spec.namespaces.source(kind).is_new() {
            flags |= kind.clone_flag();
        }
    }
    if matches!(spec.network.mode, NetMode::None) {
        flags |= NamespaceKind::Net.clone_flag();
    }
    flags
}

/// Namespaces of the supervisor's that were swapped for joined ones until the clone is done.
pub(crate) struct JoinGuard {
    saved: Vec<(NamespaceKind, File)>,
}

impl JoinGuard {
    /// Enters every namespace the spec joins by path, remembering the supervisor's own.
    pub(crate) fn enter(spec: &Spec) -> Result<JoinGuard, Error> {
        let mut guard = JoinGuard { saved: Vec::new() };
        for kind in NamespaceKind::ALL {
            let NsSource::Path(path) = spec.namespaces.source(kind) else {
                continue;
            };
            let own = File::open(format!("/proc/self/ns/{}", kind.proc_name()))
                .map_err(|error| Error::io(format!("cannot open airlock's own {kind} namespace"), error))?;
            let target = File::open(path)
                .map_err(|error| Error::io(format!("cannot open the {kind} namespace {}", path.display()), error))?;
            setns(&target, kind).map_err(|error| Error::Setup {
                step: super::channel::Step::Start,
                message: format!("cannot join the {kind} namespace {}: {}", path.display(), describe(&error)),
            })?;
            guard.saved.push((kind, own));
        }
        Ok(guard)
    }

    /// Returns the supervisor to its own namespaces.
    pub(crate) fn leave(mut self) -> Result<(), Error> {
        for (kind, own) in self.saved.drain(..).rev() {
            setns(&own, kind).map_err(|error| Error::io(format!("cannot return to airlock's own {kind} namespace"), error))?;
        }
        Ok(())
    }
}

impl Drop for JoinGuard {
    fn drop(&mut self) {
        for (kind, own) in self.saved.drain(..).rev() {
            let _ = setns(&own, kind);
        }
    }
}

fn setns(file: &File, kind: NamespaceKind) -> std::io::Result<()> {
    // SAFETY: setns takes a descriptor and a flag; the file stays open for the call.
    let ret = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file.as_fd()), kind.clone_flag() as i32) };
    if ret == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
