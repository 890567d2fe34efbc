//! The few raw system calls that neither `rustix` nor `nix` wraps: `clone3` with a pidfd and
//! a target cgroup, `mount_setattr`, and `close_range` with `CLOSE_RANGE_CLOEXEC`. Also small
//! `prctl` wrappers.

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
    // With CLONE_PARENT the child inherits the caller's exit signal; clone3 refuses another.
    let exit_signal = if flags & libc::CLONE_PARENT as u64 != 0 { 0 } else { libc::SIGCHLD as u64 };
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal,
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

/// `struct mount_attr` of `linux/mount.h`.
#[repr(C)]
#[derive(Default)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// Changes mount attributes of the mount at `dirfd`/`path`, and of every mount below it
/// when `recursive`.
pub fn mount_setattr(
    dirfd: BorrowedFd<'_>,
    path: &std::ffi::CStr,
    recursive: bool,
    attr: &MountAttr,
) -> io::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: `path` is NUL-terminated and `attr` is a valid mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd.as_raw_fd(),
            path.as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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

/// Runs `work` in a detached process (a grandchild in a session of its own, with standard
/// input and output on /dev/null, that init adopts) and returns without waiting for it;
/// runs it here when no process can be made. Only for a single-threaded caller.
pub fn run_detached(work: impl FnOnce()) {
    // SAFETY: the caller is single-threaded, so the child may run arbitrary code.
    match unsafe { libc::fork() } {
        -1 => work(),
        0 => {
            // SAFETY: as above; the child is single-threaded too.
            if unsafe { libc::fork() } == 0 {
                let _ = rustix::process::setsid();
                if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
                    for fd in 0..=2 {
                        // SAFETY: dup2 onto the standard descriptors, which this process owns.
                        unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd) };
                    }
                }
                work();
            }
            // SAFETY: _exit ends the child without running the parent's destructors twice.
            unsafe { libc::_exit(0) }
        }
        child => {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
        }
    }
}

/// A stack for a child task that shares this process's memory, with a guard page below it,
/// so that a child that overflows its stack faults instead of writing into other memory.
/// Untouched pages cost nothing. Unmapped on drop, which must come after the child is done.
pub struct ChildStack {
    base: *mut libc::c_void,
    length: usize,
}

impl ChildStack {
    /// Maps a stack of `size` bytes (a multiple of the page size) and its guard page.
    pub fn new(size: usize) -> io::Result<ChildStack> {
        let page = 4096;
        let length = size + page;
        // SAFETY: a new private anonymous mapping, which aliases nothing.
        let base = unsafe {
            libc::mmap(std::ptr::null_mut(), length, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE, -1, 0)
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = ChildStack { base, length };
        // SAFETY: the lowest page of the mapping made above becomes the guard page.
        if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// Returns the initial stack pointer: the end of the mapping, 16-byte aligned as the ABI
    /// requires.
    pub fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping, which `add` may point to.
        unsafe { self.base.cast::<u8>().add(self.length).cast() }
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: the mapping is this value's own; its owner drops it once the child that
        // used it has exec'd or ended.
        unsafe { libc::munmap(self.base, self.length) };
    }
}

/// The stack of a child started by [`spawn_sharing_memory`].
const SHARED_CHILD_STACK: usize = 1 << 20;

/// Starts `work` in a child process that shares this process's memory, as `vfork` does, and
/// returns the child's PID once the child has called `execve` or exited.
///
/// Unlike `fork`, nothing is copied: no page tables, no copy-on-write faults afterwards in
/// either process, and no copied address space for `execve` to tear down. The child runs on
/// a stack of its own while this process is suspended, so it may run ordinary code, and
/// what it allocates stays behind as a small leak. Its descriptor table, working directory,
/// signal handlers, credentials, seccomp filter and Landlock domain are its own. `work`
/// returns the status to exit with when it does not exec.
///
/// # Safety
/// The calling process must be single-threaded. `work` must not free or move anything it
/// borrows from the caller, and must not rely on the thread identity the C library caches
/// (pthread calls), which is the caller's.
pub unsafe fn spawn_sharing_memory(work: &mut dyn FnMut() -> i32) -> io::Result<i32> {
    extern "C" fn start(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the `&mut &mut dyn FnMut` passed below, alive while the parent is
        // suspended, which lasts until this child execs or exits.
        let work = unsafe { &mut *(arg as *mut &mut dyn FnMut() -> i32) };
        let code = work();
        // SAFETY: _exit takes no pointers; returning would run the C library's exit path.
        unsafe { libc::_exit(code) }
    }

    let stack = ChildStack::new(SHARED_CHILD_STACK)?;
    let mut work = work;
    // SAFETY: CLONE_VFORK keeps this frame, `work` and the stack alive until the child is
    // done with them.
    let pid = unsafe {
        libc::clone(start, stack.top(), libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD, (&mut work as *mut &mut dyn FnMut() -> i32).cast())
    };
    if pid == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid)
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

extern "C" {
    /// Start of the executable's first segment, defined by the linker.
    static __executable_start: u8;
    /// End of the executable's text, defined by the linker.
    static etext: u8;
}

/// How long a sandbox runs before its supervisor and init give back their code pages.
pub const SETTLED: std::time::Duration = std::time::Duration::from_millis(50);

/// Calls [`release_code_pages`] once none of `fds` has had anything to read for `idle`:
/// a sandbox that ends at once (`/bin/true`) never pays for it, one that stays does.
pub fn release_code_pages_when_idle(fds: &[std::os::fd::BorrowedFd<'_>], idle: std::time::Duration) {
    let mut polled: Vec<rustix::event::PollFd<'_>> =
        fds.iter().map(|fd| rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)).collect();
    let timeout = rustix::time::Timespec { tv_sec: idle.as_secs() as i64, tv_nsec: i64::from(idle.subsec_nanos()) };
    if matches!(rustix::event::poll(&mut polled, Some(&timeout)), Ok(0)) {
        release_code_pages();
    }
}

/// Drops this process's mappings of airlock's own read-only segments (code and constants)
/// and asks the kernel to map them back one page at a time.
///
/// A long-waiting process (the supervisor, init) has most of the binary mapped after its
/// setup, because every fault maps the cached pages around it too; resident memory is what
/// users count per sandbox. The pages stay in the page cache, so the few the wait loop needs
/// come back at the cost of a minor fault each. The range holds only read-only, never-written
/// file pages, so dropping them loses nothing.
pub fn release_code_pages() {
    let page = 4096usize;
    // Both symbols are defined by the linker for every ELF executable; only their addresses
    // are taken, which needs no unsafe code.
    let (start, end) = (&raw const __executable_start as usize, &raw const etext as usize);
    let start = start & !(page - 1);
    let end = (end + page - 1) & !(page - 1);
    if end <= start {
        return;
    }
    // SAFETY: the range covers the binary's read-only segments, which are file-backed and
    // never written: MADV_DONTNEED only drops their page table entries, and MADV_RANDOM only
    // changes how later faults read ahead. Code keeps running because a fault maps any
    // dropped page back from the page cache.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_RANDOM);
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
    }
}
