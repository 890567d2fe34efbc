//! The sandbox's new network namespace, made by a helper while the sandbox builds its
//! mounts.
//!
//! Creating a network namespace is the largest single cost of a sandbox's start (half a
//! millisecond of the kernel registering the loopback device and the namespace's sysctls
//! on the test machine), and nothing of the mount setup depends on it. So a new, empty
//! network namespace is not made by the clone. Once the id maps are written, the sandbox
//! starts a helper task that shares its memory and descriptor table. The helper creates
//! the namespace, brings `lo` up and opens the namespace, while the sandbox builds its
//! mounts on another CPU where there is one. Then the sandbox joins the namespace.
//!
//! The helper runs at the same time as the sandbox in the same memory, so it only makes raw
//! system calls: no allocation, no `errno`, no locks. It reports through atomics.
//!
//! In a new PID namespace the helper takes a PID, so the sandbox sets the namespace's last
//! PID back afterwards through its new procfs (see [`restore_pid_numbering`]), and the
//! payload is still PID 2. So with a new PID namespace the launcher uses a helper only
//! where the sandbox mounts a procfs of its own.

use super::{AtStep, SetupError};
use crate::launch::channel::Step;
use std::os::fd::{AsFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The size of the helper's stack; it needs a few pages.
const STACK: usize = 64 * 1024;

/// The helper's report: the namespace's descriptor, or the error number of its failure.
struct Report {
    fd: AtomicI32,
    error: AtomicI32,
}

/// A helper at work.
pub(crate) struct Helper {
    pid: i32,
    /// Unmapped when the helper is joined, after it has ended.
    #[allow(dead_code, reason = "held only to keep the stack mapped")]
    stack: crate::sys::ChildStack,
    report: Box<Report>,
}

/// Starts the helper, or returns `None` when it cannot be started (a process limit, for
/// one). The sandbox then makes the namespace itself with [`make_here`].
pub(crate) fn start() -> Option<Helper> {
    let report = Box::new(Report {
        fd: AtomicI32::new(-1),
        error: AtomicI32::new(0),
    });
    let stack = crate::sys::ChildStack::new(STACK).ok()?;
    let argument = &*report as *const Report as *mut libc::c_void;
    // SAFETY: the helper only stores into `report`'s atomics, and `report` and the stack
    // live in the Helper until `join` has reaped the helper. CLONE_FILES puts the
    // descriptor it opens in the sandbox's table.
    let pid = unsafe { libc::clone(helper_main, stack.top(), libc::CLONE_VM | libc::CLONE_FILES | libc::SIGCHLD, argument) };
    if pid == -1 {
        let error = std::io::Error::last_os_error();
        tracing::debug!(%error, "cannot start the network helper; the sandbox makes its network namespace itself");
        return None;
    }
    Some(Helper { pid, stack, report })
}

extern "C" fn helper_main(argument: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `argument` is the Report that `start` passed, alive until `join` reaps this task.
    let report = unsafe { &*(argument as *const Report) };
    match make_and_open() {
        Ok(fd) => report.fd.store(fd.into_raw_fd(), Ordering::Release),
        Err(error) => report.error.store(error.raw_os_error(), Ordering::Release),
    }
    0
}

/// Creates a network namespace for the calling task, brings `lo` up in it and opens it.
///
/// The namespace is opened through a socket in it, not through `/proc`: the sandbox may
/// have switched to its new root meanwhile, which pivot_root does for this task too, and
/// that root need not have a procfs at `/proc`.
fn make_and_open() -> rustix::io::Result<OwnedFd> {
    use crate::net::loopback;
    // SAFETY: NEWNET does not unshare the descriptor table, which the sandbox shares.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }?;
    let socket = loopback::datagram_socket()?;
    loopback::bring_up_with(&socket)?;
    loopback::namespace_of(&socket)
}

/// Makes the namespace in the sandbox itself, when no helper could be started.
pub(crate) fn make_here() -> Result<(), SetupError> {
    // SAFETY: NEWNET does not unshare the descriptor table, and this process has one thread.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
        .at(Step::Network, || "cannot create a network namespace".into())?;
    crate::net::loopback::bring_up().at(Step::Network, || "cannot bring lo up".into())
}

impl Helper {
    /// Waits for the helper and moves the sandbox into the namespace it made.
    pub(crate) fn join(self) -> Result<(), SetupError> {
        let waited = loop {
            match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other,
            }
        };
        if let Err(error) = waited {
            // The helper may still run on its stack and write its report: leave both be.
            std::mem::forget(self);
            return Err(error).at(Step::Network, || "cannot wait for the network namespace helper".into());
        }

        let fd = self.report.fd.load(Ordering::Acquire);
        if fd < 0 {
            let error = std::io::Error::from_raw_os_error(self.report.error.load(Ordering::Acquire));
            return Err(error).at(Step::Network, || "cannot create the network namespace".into());
        }
        // SAFETY: the helper opened `fd` in the descriptor table it shared with this process
        // and handed it over; nothing else owns it.
        let namespace = unsafe { OwnedFd::from_raw_fd(fd) };
        rustix::thread::move_into_link_name_space(namespace.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network))
            .at(Step::Network, || "cannot enter the new network namespace".into())
    }
}

/// Makes the next process of the sandbox's PID namespace PID 2 again, as if the helper had
/// never taken it, through `/proc/sys/kernel/ns_last_pid` opened before `/proc/sys` was made
/// read-only.
pub(crate) fn restore_pid_numbering(last_pid: &OwnedFd) {
    if let Err(error) = rustix::io::pwrite(last_pid, b"1", 0) {
        tracing::debug!(%error, "cannot reset the PID namespace's last PID; the payload gets the next one");
    }
}
