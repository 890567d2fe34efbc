//! Choosing the clone flags, and joining existing namespaces (`--netns PATH`,
//! `--net sandbox:NAME`) for the sandbox's first process.
//!
//! Joining happens in a short-lived helper process, not in the supervisor: after joining
//! a user namespace, or a namespace another user namespace owns, a process without
//! privileges cannot go back, and the supervisor must stay in the caller's namespaces for
//! the host-side work. The helper joins, then clones with `CLONE_PARENT`, so the sandbox is
//! still the supervisor's child (its parent-death signal and `waitid` work as usual), hands
//! the pidfd over, and exits.

use crate::error::{describe, Error};
use crate::launch::channel::Step;
use crate::spec::{NamespaceKind, NetMode, NsSource, Spec};
use crate::sys::{self, Forked};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::PathBuf;

/// The `CLONE_NEW*` flags for the namespaces the sandbox gets new at clone time. The time
/// and cgroup namespaces are created later by the sandbox itself: `clone3` would put the
/// child into a new time namespace before anyone could set its clock offsets, and into a
/// new cgroup namespace rooted at airlock's cgroup rather than the sandbox's. With
/// `network_in_parallel`, a helper makes the network namespace later.
pub(crate) fn clone_flags(spec: &Spec, network_in_parallel: bool) -> u64 {
    let mut flags = NamespaceKind::Mount.clone_flag();
    for kind in [NamespaceKind::User, NamespaceKind::Pid, NamespaceKind::Ipc, NamespaceKind::Uts] {
        if spec.namespaces.source(kind).is_new() {
            flags |= kind.clone_flag();
        }
    }
    if spec.network.mode.has_own_namespace() && !network_in_parallel {
        flags |= NamespaceKind::Net.clone_flag();
    }
    flags
}

/// Whether the sandbox's new network namespace is made by a helper while the sandbox builds
/// its mounts (see `child::netns`) rather than by the clone.
///
/// Only for an empty namespace: a bridged or user-mode one must exist when the supervisor
/// attaches its host side. Only without `--sys`, because the kernel mounts a sysfs only in
/// the network namespace it shows. And a new PID namespace needs a procfs of its own in
/// the sandbox, through which the helper's PID is given back.
pub(crate) fn network_in_parallel(spec: &Spec, plan: &[crate::spec::Mount]) -> bool {
    use crate::spec::Mount;
    if spec.network.mode != NetMode::None {
        return false;
    }
    let has_proc = plan.iter().any(|mount| matches!(mount, Mount::Proc { .. }));
    let has_sys = plan.iter().any(|mount| matches!(mount, Mount::Sys { .. }));
    let pid_is_new = spec.namespaces.source(NamespaceKind::Pid).is_new();
    !has_sys && (has_proc || !pid_is_new)
}

/// The namespace files the sandbox joins, user first (it decides what the others allow).
fn joins(spec: &Spec) -> Vec<(NamespaceKind, PathBuf)> {
    let mut list = Vec::new();
    for kind in [NamespaceKind::User, NamespaceKind::Pid, NamespaceKind::Ipc, NamespaceKind::Uts, NamespaceKind::Cgroup, NamespaceKind::Time] {
        if let NsSource::Path(path) = spec.namespaces.source(kind) {
            list.push((kind, path.clone()));
        }
    }
    if let NetMode::Netns(path) = &spec.network.mode {
        list.push((NamespaceKind::Net, path.clone()));
    }
    list
}

/// Clones the sandbox's first process, through a helper when it joins namespaces.
///
/// # Safety
/// The calling process must be single-threaded, as for [`sys::clone3`].
pub(crate) unsafe fn clone_sandbox(spec: &Spec, network_in_parallel: bool, cgroup: Option<BorrowedFd<'_>>) -> Result<Forked, Error> {
    let flags = clone_flags(spec, network_in_parallel);
    let joins = joins(spec);
    tracing::debug!(flags = format_args!("{flags:#x}"), joins = joins.len(), "cloning the sandbox");
    if joins.is_empty() {
        // SAFETY: the caller guarantees a single thread.
        return unsafe { sys::clone3(flags, cgroup) }.map_err(|error| Error::io("cannot create the sandbox's namespaces", error));
    }

    let files: Vec<(NamespaceKind, File)> = joins
        .iter()
        .map(|(kind, path)| {
            File::open(path).map(|file| (*kind, file)).map_err(|error| Error::Setup {
                step: Step::Start,
                message: format!("cannot open the {kind} namespace {}: {}", path.display(), describe(&error)),
            })
        })
        .collect::<Result<_, _>>()?;
    let (ours, theirs) = super::channel::Channel::pair().map_err(|error| Error::io("cannot create the helper channel", error))?;

    // SAFETY: the caller guarantees a single thread, so the helper may run arbitrary code.
    match unsafe { libc::fork() } {
        -1 => Err(Error::io("cannot start the namespace helper", std::io::Error::last_os_error())),
        0 => {
            drop(ours);
            let outcome = files
                .iter()
                .try_for_each(|(kind, file)| setns(file.as_fd(), *kind).map_err(|error| (*kind, error)));
            if let Err((kind, error)) = outcome {
                let path = joins.iter().find(|(k, _)| *k == kind).map(|(_, p)| p.display().to_string()).unwrap_or_default();
                // Joining needs privilege over the namespace's owner, which a new user
                // namespace never has over a sibling's.
                let hint = if error.raw_os_error() == Some(libc::EPERM) && kind != NamespaceKind::User {
                    "; join the user namespace that owns it too, with --userns PATH"
                } else {
                    ""
                };
                let _ = theirs.send(&format!("cannot join the {kind} namespace {path}: {}{hint}", describe(&error)));
                crate::child::exit_now(1);
            }
            // The kernel refuses CLONE_PARENT together with a new PID namespace, so the helper
            // makes that namespace (and a new user namespace that owns it) for its children.
            let deferred = flags & (libc::CLONE_NEWUSER | libc::CLONE_NEWPID) as u64;
            if deferred != 0 {
                // SAFETY: the helper is single-threaded and unshares no descriptor table.
                if unsafe { libc::unshare(deferred as i32) } == -1 {
                    let error = std::io::Error::last_os_error();
                    let _ = theirs.send(&format!("cannot create the sandbox's namespaces: {}", describe(&error)));
                    crate::child::exit_now(1);
                }
            }
            // SAFETY: the helper is single-threaded; CLONE_PARENT makes the sandbox the
            // supervisor's child.
            match unsafe { sys::clone3((flags & !deferred) | libc::CLONE_PARENT as u64, cgroup) } {
                Ok(Forked::Child) => Ok(Forked::Child),
                Ok(Forked::Parent { pid, pidfd }) => {
                    let _ = theirs.send_with_fd(&pid.to_string(), Some(pidfd.as_fd()));
                    crate::child::exit_now(0)
                }
                Err(error) => {
                    let _ = theirs.send(&format!("cannot create the sandbox's namespaces: {}", describe(&error)));
                    crate::child::exit_now(1)
                }
            }
        }
        helper => {
            drop(theirs);
            let received = ours.recv_with_fd::<String>();
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(helper), None);
            match received {
                Ok(Some((text, Some(pidfd)))) => {
                    let pid = text.parse().map_err(|_| Error::io("the namespace helper sent a malformed PID", std::io::Error::other(text)))?;
                    Ok(Forked::Parent { pid, pidfd })
                }
                Ok(Some((message, None))) => Err(Error::Setup { step: Step::Start, message }),
                _ => Err(Error::io("the namespace helper ended without a report", std::io::Error::other("no report"))),
            }
        }
    }
}

fn setns(file: BorrowedFd<'_>, kind: NamespaceKind) -> std::io::Result<()> {
    // SAFETY: setns takes a descriptor and a flag; the file stays open for the call.
    let ret = unsafe { libc::setns(file.as_raw_fd(), kind.clone_flag() as i32) };
    if ret == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
