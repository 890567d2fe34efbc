//! Network setup inside the sandbox's own network namespace.

use super::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::net::setup::SandboxSide;
use std::os::fd::AsRawFd;

/// Configures the sandbox's interface and its egress rules, once the host side is attached.
/// The payload, which holds no CAP_NET_ADMIN, cannot change either afterwards.
pub(crate) fn configure(network: &SandboxSide) -> Result<(), SetupError> {
    let fail = |error: &dyn std::fmt::Display| SetupError::new(Step::Network, error.to_string());
    if let Some(interface) = &network.interface {
        let mut netlink = crate::net::rtnl::Netlink::open().map_err(|error| fail(&error))?;
        for address in &interface.addresses {
            netlink.add_address(&interface.name, address.address(), address.prefix_len()).map_err(|error| fail(&error))?;
        }
        netlink.set_up(&interface.name).map_err(|error| fail(&error))?;
        for gateway in &interface.gateways {
            netlink.add_default_route(*gateway).map_err(|error| fail(&error))?;
        }
    }
    if !network.egress.is_empty() {
        crate::net::firewall::egress_rules(&network.resolvers, &network.egress)
            .and_then(|batch| batch.send())
            .map_err(|error| fail(&format!("cannot limit outbound traffic: {error}")))?;
    }
    Ok(())
}

/// Lets the payload ping without CAP_NET_RAW, through ICMP datagram sockets, as most
/// distributions allow on the host: a new network namespace starts with no group allowed.
/// The range is every group mapped into the sandbox, since the kernel refuses an unmapped one.
pub(crate) fn allow_ping() -> Result<(), SetupError> {
    let map = std::fs::read_to_string("/proc/self/gid_map").at(Step::Network, || "cannot read /proc/self/gid_map".into())?;
    let ranges: Vec<(u64, u64)> = map
        .lines()
        .filter_map(|line| {
            let fields: Vec<u64> = line.split_whitespace().filter_map(|field| field.parse().ok()).collect();
            (fields.len() == 3 && fields[2] > 0).then(|| (fields[0], fields[0] + fields[2] - 1))
        })
        .collect();
    let (Some(first), Some(last)) = (ranges.iter().map(|range| range.0).min(), ranges.iter().map(|range| range.1).max()) else {
        return Ok(());
    };
    // The kernel takes the range as signed 32-bit group ids.
    let last = last.min(i32::MAX as u64);
    std::fs::write("/proc/sys/net/ipv4/ping_group_range", format!("{first} {last}"))
        .at(Step::Network, || "cannot allow ping through net.ipv4.ping_group_range".into())
}

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
