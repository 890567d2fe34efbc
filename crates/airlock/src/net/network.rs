//! Bridge networks: a bridge on the host, its subnets, its firewall table and the address
//! leases of the sandboxes on it.
//!
//! Each network is a directory `networks/NAME` in the state directory, with its description
//! in `network.json` and one file per leased address in `leases/`. Networks are created and
//! removed, and addresses leased, under the state directory's lock, so concurrent airlock
//! processes never pick the same subnet or address.

use super::lease::{self, Lease};
use super::nftables::{Family, Table};
use super::rtnl::Netlink;
use super::{check_network_name, Cidr, NetError, BRIDGE_PREFIX};
use crate::named::StateDir;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

/// Where default subnets come from: the first /24 in it that no route or network uses.
const DEFAULT_POOL: &str = "10.89.0.0/16";

/// A bridge network as recorded in the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BridgeNetwork {
    pub name: String,
    pub bridge: String,
    /// The IPv4 subnet; the bridge has its first address, the gateway.
    pub subnet: Cidr,
    /// An optional IPv6 subnet, with the gateway at its first address too.
    pub ipv6: Option<Cidr>,
    /// No NAT and no forwarding out of the network.
    pub internal: bool,
    /// Seconds since the Unix epoch.
    pub created: u64,
}

impl BridgeNetwork {
    /// The bridge's address on each subnet, the sandboxes' gateway.
    pub fn gateways(&self) -> Vec<IpAddr> {
        self.subnets().iter().filter_map(|subnet| subnet.nth(1)).collect()
    }

    /// The IPv4 subnet and, when configured, the IPv6 one.
    pub fn subnets(&self) -> Vec<Cidr> {
        std::iter::once(self.subnet).chain(self.ipv6).collect()
    }

    pub(crate) fn table(&self) -> Table {
        Table::new(Family::Inet, format!("airlock-net-{}", self.name))
    }

    /// Creates the bridge, its addresses, the sysctls and the firewall table, when the
    /// bridge does not exist yet (a network outlives the bridge only if someone deleted it).
    pub(crate) fn install(&self, netlink: &mut Netlink) -> Result<(), NetError> {
        if netlink.link_exists(&self.bridge)? {
            return Ok(());
        }
        tracing::info!(network = %self.name, bridge = %self.bridge, subnet = %self.subnet, "creating the bridge");
        netlink.create_bridge(&self.bridge)?;
        let result = (|| {
            for (subnet, gateway) in self.subnets().iter().zip(self.gateways()) {
                netlink.add_address(&self.bridge, gateway, subnet.prefix_len())?;
            }
            // A published port reached at 127.0.0.1 leaves through the bridge with a loopback
            // source, which the kernel drops as martian unless this is set.
            write_sysctl(&format!("net/ipv4/conf/{}/route_localnet", self.bridge), "1")?;
            write_sysctl("net/ipv4/ip_forward", "1")?;
            if self.ipv6.is_some() {
                write_sysctl("net/ipv6/conf/all/forwarding", "1")?;
            }
            netlink.set_up(&self.bridge)?;
            super::firewall::network_rules(&self.table(), &self.bridge, &self.subnets(), self.internal)?.send()?;
            Ok::<(), NetError>(())
        })();
        if result.is_err() {
            let _ = netlink.delete_link(&self.bridge);
        }
        result
    }

    /// Removes the bridge and the firewall table.
    fn uninstall(&self, netlink: &mut Netlink) -> Result<(), NetError> {
        if netlink.link_exists(&self.bridge)? {
            netlink.delete_link(&self.bridge)?;
        }
        match super::firewall::delete(&self.table()).send() {
            Ok(()) | Err(super::nftables::NftError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// The bridge networks of the state directory.
pub struct Networks {
    state: StateDir,
    dir: PathBuf,
}

impl Networks {
    /// Opens the networks of the caller's state directory; bridge networks are root's.
    pub fn open() -> Result<Networks, NetError> {
        if !rustix::process::geteuid().is_root() {
            return Err(NetError::NotRoot);
        }
        let state = StateDir::open()?;
        let dir = state.subdir("networks")?;
        Ok(Networks { state, dir })
    }

    /// Creates the network `name` on the host. Without `subnet`, the first free /24 of
    /// 10.89.0.0/16 is used.
    pub fn create(&self, name: &str, subnet: Option<Cidr>, ipv6: Option<Cidr>, internal: bool) -> Result<BridgeNetwork, NetError> {
        check_network_name(name).map_err(|why| NetError::BadName { name: name.to_string(), why })?;
        let _lock = self.state.lock()?;
        self.create_locked(name, subnet, ipv6, internal)
    }

    fn create_locked(&self, name: &str, subnet: Option<Cidr>, ipv6: Option<Cidr>, internal: bool) -> Result<BridgeNetwork, NetError> {
        if self.path(name).exists() {
            return Err(NetError::Exists(name.to_string()));
        }
        let mut netlink = Netlink::open()?;
        let mut taken: Vec<(Cidr, String)> = Vec::new();
        for network in self.list()? {
            for subnet in network.subnets() {
                taken.push((subnet, format!("network {}", network.name)));
            }
        }
        for route in netlink.list_routes()? {
            // Default routes cover everything; they say nothing about what is in use.
            if route.destination.prefix_len() > 0 && (route.table == 254 || route.table == 255) {
                let owner = route.interface.map(|name| format!("a route on {name}")).unwrap_or_else(|| "a route".into());
                taken.push((route.destination, owner));
            }
        }
        let subnet = match subnet {
            Some(subnet) => check_subnet(subnet, false, &taken)?,
            None => pick_subnet(&taken)?,
        };
        let ipv6 = ipv6.map(|ipv6| check_subnet(ipv6, true, &taken)).transpose()?;

        let network = BridgeNetwork {
            name: name.to_string(),
            bridge: format!("{BRIDGE_PREFIX}{name}"),
            subnet,
            ipv6,
            internal,
            created: crate::named::now(),
        };
        if netlink.link_exists(&network.bridge)? {
            return Err(NetError::Exists(format!("{name} (a link named {} exists already)", network.bridge)));
        }
        network.install(&mut netlink)?;
        if let Err(error) = self.write(&network) {
            let _ = network.uninstall(&mut netlink);
            return Err(error);
        }
        Ok(network)
    }

    /// The network `name`, with its bridge and rules in place. The default network is
    /// created on first use; any other must exist.
    pub(crate) fn open_network(&self, name: &str) -> Result<BridgeNetwork, NetError> {
        let _lock = self.state.lock()?;
        let network = match self.read(name) {
            Ok(network) => network,
            Err(NetError::NotFound(_)) if name == crate::spec::DEFAULT_NETWORK => self.create_locked(name, None, None, false)?,
            Err(error) => return Err(error),
        };
        network.install(&mut Netlink::open()?)?;
        Ok(network)
    }

    /// Reads the network `name`.
    pub fn read(&self, name: &str) -> Result<BridgeNetwork, NetError> {
        check_network_name(name).map_err(|why| NetError::BadName { name: name.to_string(), why })?;
        let path = self.path(name).join("network.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(NetError::NotFound(name.to_string())),
            Err(error) => return Err(NetError::io(format!("read {}", path.display()), error)),
        };
        crate::named::check_owned(&path, rustix::process::geteuid().as_raw())?;
        serde_json::from_str(&text).map_err(|error| NetError::io(format!("parse {}", path.display()), std::io::Error::other(error)))
    }

    /// Every network, sorted by name.
    pub fn list(&self) -> Result<Vec<BridgeNetwork>, NetError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|error| NetError::io(format!("read {}", self.dir.display()), error))?;
        let mut names: Vec<String> = entries.flatten().filter_map(|entry| entry.file_name().into_string().ok()).collect();
        names.sort();
        Ok(names.iter().filter_map(|name| self.read(name).ok()).collect())
    }

    /// The live leases of the network `name`, after the stale ones are reclaimed.
    pub fn leases(&self, name: &str) -> Result<Vec<Lease>, NetError> {
        let _lock = self.state.lock()?;
        lease::reclaim_stale(&self.leases_dir(name))
    }

    /// Removes the network `name`: its bridge, rules and record. Refused while a sandbox
    /// uses it.
    pub fn remove(&self, name: &str) -> Result<(), NetError> {
        let network = self.read(name)?;
        let _lock = self.state.lock()?;
        let live = lease::reclaim_stale(&self.leases_dir(name))?;
        if !live.is_empty() {
            return Err(NetError::InUse { name: name.to_string(), count: live.len() });
        }
        network.uninstall(&mut Netlink::open()?)?;
        let path = self.path(name);
        std::fs::remove_dir_all(&path).map_err(|error| NetError::io(format!("remove {}", path.display()), error))
    }

    /// Leases addresses on `network` for the sandbox whose supervisor is this process.
    pub(crate) fn lease(&self, network: &BridgeNetwork, requested: &[IpAddr]) -> Result<Lease, NetError> {
        let _lock = self.state.lock()?;
        let dir = self.leases_dir(&network.name);
        std::fs::create_dir_all(&dir).map_err(|error| NetError::io(format!("create {}", dir.display()), error))?;
        lease::allocate(network, &dir, requested)
    }

    /// Gives a lease back.
    pub(crate) fn release(&self, network: &str, lease: &Lease) {
        let _lock = self.state.lock();
        lease::remove(&self.leases_dir(network), lease);
    }

    fn write(&self, network: &BridgeNetwork) -> Result<(), NetError> {
        let dir = self.path(&network.name);
        let fail = |error| NetError::io(format!("write {}", dir.display()), error);
        std::fs::create_dir(&dir).map_err(fail)?;
        let text = serde_json::to_vec_pretty(network).map_err(|error| fail(std::io::Error::other(error)))?;
        let temporary = dir.join(".network.json.new");
        std::fs::write(&temporary, text).map_err(fail)?;
        std::fs::rename(&temporary, dir.join("network.json")).map_err(fail)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn leases_dir(&self, name: &str) -> PathBuf {
        self.path(name).join("leases")
    }
}

/// Reclaims what sandboxes whose supervisor died left on every network: host links,
/// firewall tables and leases. Returns how many leases were reclaimed; does nothing for an
/// ordinary user, who has no bridge networks.
pub fn collect_garbage() -> Result<usize, NetError> {
    if !rustix::process::geteuid().is_root() {
        return Ok(0);
    }
    let networks = Networks::open()?;
    let _lock = networks.state.lock()?;
    let mut reclaimed = 0;
    for network in networks.list()? {
        let dir = networks.leases_dir(&network.name);
        let before = lease::count(&dir);
        let live = lease::reclaim_stale(&dir)?;
        reclaimed += before.saturating_sub(live.len());
    }
    Ok(reclaimed)
}

/// Checks a requested subnet against what is in use; returns it with its host bits cleared.
fn check_subnet(subnet: Cidr, ipv6: bool, taken: &[(Cidr, String)]) -> Result<Cidr, NetError> {
    let bad = |why: String| NetError::BadSubnet { subnet, why };
    if subnet.address().is_ipv6() != ipv6 {
        return Err(bad(if ipv6 { "--ipv6 takes an IPv6 network".into() } else { "--subnet takes an IPv4 network".into() }));
    }
    let (min, max) = if ipv6 { (8, 120) } else { (8, 30) };
    if !(min..=max).contains(&subnet.prefix_len()) {
        return Err(bad(format!("the prefix length must be between {min} and {max}")));
    }
    let subnet = Cidr::new(subnet.network(), subnet.prefix_len()).expect("same prefix length");
    if let Some((_, owner)) = taken.iter().find(|(other, _)| other.overlaps(&subnet)) {
        return Err(NetError::BadSubnet { subnet, why: format!("it overlaps {owner}") });
    }
    Ok(subnet)
}

/// The first /24 of the default pool that overlaps nothing in use.
fn pick_subnet(taken: &[(Cidr, String)]) -> Result<Cidr, NetError> {
    let pool: Cidr = DEFAULT_POOL.parse().expect("a valid network");
    (0..256u128)
        .filter_map(|index| pool.nth(index * 256))
        .map(|network| Cidr::new(network, 24).expect("a valid prefix"))
        .find(|candidate| !taken.iter().any(|(other, _)| other.overlaps(candidate)))
        .ok_or(NetError::NoFreeSubnet(DEFAULT_POOL))
}

/// Writes a file under /proc/sys in the caller's network namespace.
fn write_sysctl(name: &str, value: &str) -> Result<(), NetError> {
    let path = format!("/proc/sys/{name}");
    std::fs::write(&path, value).map_err(|error| NetError::io(format!("set {path} to {value}"), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    #[test]
    fn picks_first_free_subnet() {
        let taken = vec![(cidr("10.89.0.0/24"), "network a".into()), (cidr("10.89.1.128/25"), "a route".into())];
        assert_eq!(pick_subnet(&taken).unwrap(), cidr("10.89.2.0/24"));
        assert_eq!(pick_subnet(&[]).unwrap(), cidr("10.89.0.0/24"));
        let everything = vec![(cidr("10.0.0.0/8"), "a route".into())];
        assert!(matches!(pick_subnet(&everything), Err(NetError::NoFreeSubnet(_))));
    }

    #[test]
    fn requested_subnets_are_checked() {
        let taken = vec![(cidr("192.168.1.0/24"), "a route on eth0".into())];
        let error = check_subnet(cidr("192.168.0.0/16"), false, &taken).unwrap_err();
        assert!(error.to_string().contains("overlaps a route on eth0"), "{error}");
        assert_eq!(check_subnet(cidr("10.1.2.3/24"), false, &taken).unwrap(), cidr("10.1.2.0/24"));
        assert!(check_subnet(cidr("10.1.2.0/31"), false, &taken).is_err());
        assert!(check_subnet(cidr("fd00::/64"), false, &taken).is_err());
        assert_eq!(check_subnet(cidr("fd00:1::/64"), true, &taken).unwrap(), cidr("fd00:1::/64"));
    }
}
