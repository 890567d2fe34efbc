//! Network setup inside the sandbox's own network namespace.

use super::{AtStep, SetupError};
use crate::launch::channel::Step;
use std::os::fd::AsRawFd;

/// Brings `lo` up, the only interface of a new network namespace.
///
/// Two ioctls on a datagram socket are the cheapest way to set one flag.
pub(crate) fn loopback_up() -> Result<(), SetupError> {
    let socket = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        None,
    )
    .at(Step::Network, || "cannot open a socket to configure lo".into())?;

    // SAFETY: ifreq is plain data; an all-zero value is valid.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the flags of the interface named in `request` into it.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) } == -1 {
        return Err(std::io::Error::last_os_error()).at(Step::Network, || "cannot read the flags of lo".into());
    }
    // SAFETY: the union member ifru_flags is the one SIOCGIFFLAGS filled in.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS sets the flags of the interface named in `request`.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) } == -1 {
        return Err(std::io::Error::last_os_error()).at(Step::Network, || "cannot bring lo up".into());
    }
    Ok(())
}
