//! Bringing up `lo`, the only interface of a new network namespace.
//!
//! As root, the supervisor does it from outside, by entering the sandbox's network namespace
//! for two ioctls while the sandbox builds its mounts. Creating the loopback routes takes
//! the kernel about a tenth of a millisecond here, which then leaves the sandbox's path to
//! the payload. Other callers cannot enter the namespace, so their sandbox does it itself.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

/// `SIOCGSKNS` of `linux/sockios.h` (Linux 4.9): a descriptor of a socket's network namespace.
const SIOCGSKNS: rustix::ioctl::Opcode = 0x894c;

/// The ioctl that opens a socket's network namespace; its result is the new descriptor.
struct NamespaceOfSocket;

// SAFETY: SIOCGSKNS takes no argument and returns a new descriptor, or fails.
unsafe impl rustix::ioctl::Ioctl for NamespaceOfSocket {
    type Output = OwnedFd;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> rustix::ioctl::Opcode {
        SIOCGSKNS
    }

    fn as_ptr(&mut self) -> *mut libc::c_void {
        std::ptr::null_mut()
    }

    unsafe fn output_from_ptr(output: rustix::ioctl::IoctlOutput, _: *mut libc::c_void) -> rustix::io::Result<OwnedFd> {
        // SAFETY: on success the kernel returned a new descriptor, which nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(output) })
    }
}

/// Opens the network namespace `socket` belongs to, without a path in `/proc`, which the
/// sandbox may not have where the caller looks (see `child::netns`).
pub(crate) fn namespace_of(socket: &OwnedFd) -> rustix::io::Result<OwnedFd> {
    // SAFETY: NamespaceOfSocket describes SIOCGSKNS as the kernel defines it.
    unsafe { rustix::ioctl::ioctl(socket, NamespaceOfSocket) }
}

/// Sets `lo` up in the calling process's network namespace.
///
/// Two ioctls on a datagram socket are the cheapest way to set one flag. Only raw system
/// calls, no allocation and no `errno`, because a helper that shares the sandbox's memory
/// runs this too (see `child::netns`).
pub(crate) fn bring_up() -> rustix::io::Result<()> {
    bring_up_with(&datagram_socket()?)
}

/// Opens the datagram socket that [`bring_up_with`] and [`namespace_of`] take.
pub(crate) fn datagram_socket() -> rustix::io::Result<OwnedFd> {
    rustix::net::socket(rustix::net::AddressFamily::INET, rustix::net::SocketType::DGRAM, None)
}

/// Sets `lo` up in the network namespace of `socket`.
pub(crate) fn bring_up_with(socket: &OwnedFd) -> rustix::io::Result<()> {
    use rustix::ioctl::{ioctl, Updater};
    // SAFETY: ifreq is plain data; an all-zero value is valid.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the flags of the interface named in an ifreq into it.
    unsafe { ioctl(socket, Updater::<{ libc::SIOCGIFFLAGS as rustix::ioctl::Opcode }, libc::ifreq>::new(&mut request)) }?;
    // SAFETY: the union member ifru_flags is the one SIOCGIFFLAGS filled in.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS sets the flags of the interface named in an ifreq.
    unsafe { ioctl(socket, Updater::<{ libc::SIOCSIFFLAGS as rustix::ioctl::Opcode }, libc::ifreq>::new(&mut request)) }
}

/// Sets `lo` up in the network namespace of the process `pidfd` refers to, then returns to
/// the caller's own namespace. Needs CAP_SYS_ADMIN in the caller's user namespace, so only
/// root's supervisor tries; an error leaves the job to the sandbox.
pub(crate) fn bring_up_in(pidfd: BorrowedFd<'_>) -> io::Result<()> {
    use rustix::thread::{move_into_link_name_space, move_into_thread_name_spaces, LinkNameSpaceType, ThreadNameSpaceType};
    let own = rustix::fs::open("/proc/thread-self/ns/net", rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty())?;
    move_into_thread_name_spaces(pidfd, ThreadNameSpaceType::NETWORK)?;
    let result = bring_up().map_err(io::Error::from);
    if let Err(error) = move_into_link_name_space(own.as_fd(), Some(LinkNameSpaceType::Network)) {
        // Staying in the sandbox's namespace would put the host side of a bridged sandbox,
        // created next, in the wrong place; nothing sensible can go on.
        tracing::error!(%error, "cannot return to airlock's own network namespace");
        crate::child::exit_now(125);
    }
    result
}
