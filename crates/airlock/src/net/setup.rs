//! A sandbox's network from start to end: decided before the clone, attached on the host
//! after it, configured inside by the sandbox, and released when the sandbox ends.

use super::firewall::{DnsRedirect, Forward};
use super::lease::Lease;
use super::network::{BridgeNetwork, Networks};
use super::pasta::Pasta;
use super::resolv::ResolvConf;
use super::rtnl::Netlink;
use super::{Cidr, NetError};
use crate::spec::{EgressRule, NetMode, Spec};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;

/// The sandbox's name for its end of the veth pair.
const SANDBOX_LINK: &str = "eth0";

/// What the sandbox configures on its side, decided before the clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct SandboxSide {
    /// The interface to configure, in bridge mode; pasta configures its own.
    pub interface: Option<Interface>,
    /// The resolvers of the sandbox's resolv.conf, which egress rules let through.
    pub resolvers: Vec<IpAddr>,
    /// The text of the sandbox's `/etc/resolv.conf`, when it differs from the host's.
    pub resolv_conf: Option<String>,
    pub egress: Vec<EgressRule>,
    /// The supervisor attaches the host side after the clone and reports when it is done.
    pub host_pending: bool,
}

/// An interface the sandbox configures: addresses, then a default route per gateway.
#[derive(Debug, Clone)]
pub(crate) struct Interface {
    pub name: String,
    pub addresses: Vec<Cidr>,
    pub gateways: Vec<IpAddr>,
}

/// The host side, between the decision and the attachment.
pub(crate) enum Pending {
    Nothing,
    Bridge { guard: Box<LeaseGuard>, forwards: Vec<Forward>, dns: Option<DnsRedirect> },
    User { spec: Box<Spec> },
}

/// The host side of a running sandbox, released on drop.
#[allow(dead_code, reason = "each variant holds its value only to release it on drop")]
pub(crate) enum HostSide {
    Bridge(Box<LeaseGuard>),
    User(Pasta),
}

/// A lease and what the host holds for it, given back on drop.
pub(crate) struct LeaseGuard {
    networks: Networks,
    network: BridgeNetwork,
    lease: Lease,
    /// The connection that installed the sandbox's firewall table, kept open so that no
    /// step on the way to the payload waits for the kernel to close it.
    firewall: Option<super::nftables::Connection>,
}

impl Drop for LeaseGuard {
    /// Deleting the link and the firewall table each wait for an RCU grace period in the
    /// kernel, tens of milliseconds that the caller, who has the payload's status, need not
    /// wait: a detached process does it and then gives the lease back. Should it die, the
    /// lease's owner is dead and the next airlock command reclaims it.
    fn drop(&mut self) {
        crate::sys::run_detached(|| {
            if let Ok(mut netlink) = Netlink::open() {
                super::lease::release_host_side(&mut netlink, &self.lease, self.firewall.as_ref());
            }
            self.networks.release(&self.network.name, &self.lease);
        });
    }
}

/// Decides the sandbox's network: checks the mode, leases an address on a bridge network
/// (creating the default network on first use), and picks the resolvers.
pub(crate) fn prepare(spec: &Spec) -> Result<(SandboxSide, Pending), NetError> {
    let network = &spec.network;
    let mut side = SandboxSide { egress: network.allow_egress.clone(), ..SandboxSide::default() };

    let pending = match &network.mode {
        NetMode::Bridge(name) => {
            let networks = Networks::open()?;
            let bridge = networks.open_network(name)?;
            let lease = networks.lease(&bridge, &network.ip)?;
            let guard = Box::new(LeaseGuard { networks, network: bridge, lease, firewall: None });
            let forwards = forwards(spec, &guard)?;

            let host = ResolvConf::host();
            // The host's resolvers, unless they listen on its loopback, which the sandbox
            // reaches through the gateway and a redirect.
            let gateway = guard.network.gateways()[0];
            let (nameservers, dns) = if !network.dns.is_empty() {
                (network.dns.clone(), None)
            } else {
                let reachable: Vec<IpAddr> = host.nameservers.iter().copied().filter(|address| !address.is_loopback()).collect();
                match host.nameservers.iter().find(|address| address.is_loopback() && address.is_ipv4()) {
                    Some(&resolver) if reachable.is_empty() => {
                        let redirect = DnsRedirect { bridge_address: gateway, sandbox_address: guard.lease.addresses[0], resolver };
                        (vec![gateway], Some(redirect))
                    }
                    _ => (reachable, None),
                }
            };
            side.interface = Some(Interface {
                name: SANDBOX_LINK.to_string(),
                addresses: guard.lease.addresses.iter().zip(guard.network.subnets()).map(|(address, subnet)| {
                    Cidr::new(*address, subnet.prefix_len()).expect("the subnet's prefix fits its address")
                }).collect(),
                gateways: guard.network.gateways(),
            });
            side.resolv_conf = Some(host.render(&nameservers));
            side.resolvers = nameservers;
            side.host_pending = true;
            Pending::Bridge { guard, forwards, dns }
        }
        NetMode::User => {
            let host = ResolvConf::host();
            // pasta carries DNS like any other traffic, so the host's resolvers work as they
            // are, except those on the host's loopback.
            let nameservers = if !network.dns.is_empty() {
                network.dns.clone()
            } else {
                let reachable: Vec<IpAddr> = host.nameservers.iter().copied().filter(|address| !address.is_loopback()).collect();
                if reachable.is_empty() && !host.nameservers.is_empty() {
                    tracing::warn!("the host's resolvers listen on its loopback, which --net user cannot reach; name lookups will fail unless --dns names a resolver");
                }
                reachable
            };
            side.resolv_conf = Some(host.render(&nameservers));
            side.resolvers = nameservers;
            side.host_pending = true;
            Pending::User { spec: Box::new(spec.clone()) }
        }
        _ => {
            if !network.dns.is_empty() {
                side.resolv_conf = Some(ResolvConf::host().render(&network.dns));
                side.resolvers = network.dns.clone();
            }
            Pending::Nothing
        }
    };
    Ok((side, pending))
}

/// The DNAT targets of the published ports: each goes to the sandbox's address of the
/// host address's family, or to both when no host address is given.
fn forwards(spec: &Spec, guard: &LeaseGuard) -> Result<Vec<Forward>, NetError> {
    let addresses = &guard.lease.addresses;
    let mut forwards = Vec::new();
    for mapping in &spec.network.publish {
        let targets: Vec<IpAddr> = match mapping.host_address {
            Some(host) => {
                let target = addresses.iter().copied().find(|address| address.is_ipv4() == host.is_ipv4());
                vec![target.ok_or_else(|| NetError::BadAddress {
                    address: host,
                    network: guard.network.name.clone(),
                    why: "--publish names an IPv6 host address, but the network has no IPv6 subnet".into(),
                })?]
            }
            None => addresses.clone(),
        };
        for target in targets {
            forwards.push(Forward {
                protocol: mapping.protocol,
                host_address: mapping.host_address,
                host_port: mapping.host_port,
                target: SocketAddr::new(target, mapping.port),
            });
        }
    }
    Ok(forwards)
}

impl Pending {
    /// Attaches the host side to the sandbox whose first process is `pid`.
    pub(crate) fn attach(self, pid: i32) -> Result<Option<HostSide>, NetError> {
        match self {
            Pending::Nothing => Ok(None),
            Pending::Bridge { mut guard, forwards, dns } => {
                let mut netlink = Netlink::open()?;
                let netns_path = format!("/proc/{pid}/ns/net");
                let netns = std::fs::File::open(&netns_path).map_err(|error| NetError::io(format!("open {netns_path}"), error))?;
                let link = &guard.lease.host_link;
                netlink.create_veth(link, SANDBOX_LINK, netns.as_fd())?;
                netlink.set_master(link, &guard.network.bridge)?;
                netlink.allow_large_segments(&guard.network.bridge)?;
                netlink.set_hairpin(link)?;
                netlink.set_up(link)?;
                if !forwards.is_empty() || dns.is_some() {
                    let table = super::nftables::Table::new(super::nftables::Family::Inet, guard.lease.table.clone());
                    let connection = super::nftables::Connection::open()?;
                    super::firewall::sandbox_host_rules(&table, &forwards, dns)?.send_on(&connection)?;
                    guard.firewall = Some(connection);
                }
                Ok(Some(HostSide::Bridge(guard)))
            }
            Pending::User { spec } => Ok(Some(HostSide::User(Pasta::start(pid, &spec.network.publish)?))),
        }
    }

    /// The addresses the sandbox will have, for reports.
    pub(crate) fn addresses(&self) -> Vec<String> {
        match self {
            Pending::Bridge { guard, .. } => guard.lease.addresses.iter().map(IpAddr::to_string).collect(),
            _ => Vec::new(),
        }
    }
}
