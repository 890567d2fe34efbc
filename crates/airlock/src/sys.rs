//! The few raw system calls that neither `rustix` nor `nix` wraps: `clone3` with a pidfd and
//! a target cgroup, and `close_range` with `CLOSE_RANGE_CLOEXEC`; also small `prctl` wrappers.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The result of [`clone3`] in each of the two processes.
pub enum Forked {
    Parent { pid: i32, pidfd: OwnedFd },
    Child,
}

/// `CLONE_INTO_CGROUP` of `linux/sched.h`; libc declares it with a type too narrow for clone3.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of `linux/sched.h`, the version-2 layout with `cgroup`.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Forks into new namespaces, like `fork` but with `flags` (`CLONE_NEW*`), a pidfd for the
/// child, and optionally straight into the cgroup `cgroup` (cgroup v2).
///
/// # Safety
/// The calling process must be single-threaded: the child continues on a copy of this
/// thread only, so any lock another thread held stays locked in the child forever.
pub unsafe fn clone3(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(cgroup) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cgroup.as_raw_fd() as u64;
    }

    // SAFETY: `args` is a valid clone_args of the size passed; without CLONE_VM the child
    // gets its own copy of the address space, so returning into Rust code in both processes
    // is sound as long as the caller upholds the single-thread contract above.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as i32,
            // SAFETY: with CLONE_PIDFD the kernel stored a new descriptor that we now own.
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}

/// Marks every descriptor from `first` up close-on-exec.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range only changes descriptor flags; no memory is passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Clears close-on-exec on one descriptor, so the payload inherits it.
pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an integer descriptor; an invalid one fails with EBADF.
    let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether `fd` is an open descriptor of this process.
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads descriptor flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Sets the signal sent to this process when its parent dies.
pub fn set_parent_death_signal(signal: i32) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and no pointers.
    let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes this process the reaper of orphaned descendants.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes a flag and no pointers.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the process's secure bits (`SECBIT_*`).
pub fn set_securebits(bits: u32) -> io::Result<()> {
    // SAFETY: PR_SET_SECUREBITS takes a bit mask and no pointers.
    let ret = unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits as libc::c_ulong, 0, 0, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;

/// Capability sets with nothing in them.
pub const NO_CAPABILITIES: rustix::thread::CapabilitySets = rustix::thread::CapabilitySets {
    effective: rustix::thread::CapabilitySet::empty(),
    permitted: rustix::thread::CapabilitySet::empty(),
    inheritable: rustix::thread::CapabilitySet::empty(),
};
