//! Network setup inside the sandbox's own network namespace.

use super::{AtStep, SetupError};
use crate::launch::channel::Step;
use crate::net::setup::SandboxSide;

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

/// Brings `lo` up, the only interface of a new network namespace, when the supervisor
/// could not.
pub(crate) fn loopback_up() -> Result<(), SetupError> {
    crate::net::loopback::bring_up().at(Step::Network, || "cannot bring lo up".into())
}
