//! Address leases on a bridge network: one file per sandbox in the network's `leases`
//! directory, named after its IPv4 address and naming its supervisor, its host link and
//! its firewall table. The callers hold the state directory's lock.

use super::network::BridgeNetwork;
use super::rtnl::Netlink;
use super::NetError;
use crate::named::ProcessRef;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;

/// The addresses of one sandbox and what it installed on the host for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Lease {
    /// The IPv4 address, then the IPv6 one when the network has IPv6.
    pub addresses: Vec<IpAddr>,
    /// The supervisor: the lease is stale once it is gone.
    pub owner: ProcessRef,
    /// The host end of the sandbox's veth pair.
    pub host_link: String,
    /// The host's firewall table for the sandbox's published ports.
    pub table: String,
}

impl Lease {
    fn file_name(&self) -> String {
        self.addresses.first().map(IpAddr::to_string).unwrap_or_default()
    }
}

/// Leases the requested addresses, or the lowest free ones, to this process.
pub(crate) fn allocate(network: &BridgeNetwork, dir: &Path, requested: &[IpAddr]) -> Result<Lease, NetError> {
    let live = reclaim_stale(dir)?;
    let used: HashSet<IpAddr> = live.iter().flat_map(|lease| lease.addresses.iter().copied()).collect();
    let bad = |address: IpAddr, why: &str| NetError::BadAddress { address, network: network.name.clone(), why: why.to_string() };

    // The IPv4 address decides the index; the IPv6 address has the same one by default.
    let subnet = network.subnet;
    let last = subnet.size() - 1;
    let index = match requested.iter().find(|address| address.is_ipv4()) {
        Some(&address) => {
            if !subnet.contains(address) {
                return Err(bad(address, &format!("it is outside the subnet {subnet}")));
            }
            let index = offset(subnet.network(), address);
            if index < 2 || index == last {
                return Err(bad(address, "it is the network's own, gateway or broadcast address"));
            }
            if used.contains(&address) {
                return Err(bad(address, "another sandbox has it"));
            }
            index
        }
        None => (2..last)
            .find(|index| subnet.nth(*index).is_some_and(|address| !used.contains(&address)))
            .ok_or_else(|| NetError::Full { network: network.name.clone() })?,
    };
    let mut addresses = vec![subnet.nth(index).expect("the index is inside the subnet")];
    if let Some(ipv6) = network.ipv6 {
        let address = match requested.iter().find(|address| address.is_ipv6()) {
            Some(&address) if !ipv6.contains(address) => return Err(bad(address, &format!("it is outside the subnet {ipv6}"))),
            Some(&address) if offset(ipv6.network(), address) < 2 => return Err(bad(address, "it is the network's own or gateway address")),
            Some(&address) => address,
            None => ipv6.nth(index).ok_or_else(|| NetError::Full { network: network.name.clone() })?,
        };
        if used.contains(&address) {
            return Err(bad(address, "another sandbox has it"));
        }
        addresses.push(address);
    } else if let Some(&address) = requested.iter().find(|address| address.is_ipv6()) {
        return Err(bad(address, "the network has no IPv6 subnet; create it with --ipv6"));
    }

    let pid = std::process::id() as i32;
    let owner = ProcessRef::of(pid).ok_or_else(|| NetError::io("read this process's start time", std::io::Error::last_os_error()))?;
    let lease = Lease {
        addresses,
        owner,
        host_link: format!("alv{pid}"),
        table: format!("airlock-sandbox-{pid}-{}", owner.start_time),
    };
    let path = dir.join(lease.file_name());
    let text = serde_json::to_vec(&lease).map_err(|error| NetError::io("encode a lease", std::io::Error::other(error)))?;
    let temporary = dir.join(format!(".{}.new", lease.file_name()));
    std::fs::write(&temporary, text).map_err(|error| NetError::io(format!("write {}", temporary.display()), error))?;
    std::fs::rename(&temporary, &path).map_err(|error| NetError::io(format!("write {}", path.display()), error))?;
    Ok(lease)
}

/// Removes the leases whose supervisor is gone, with their host links and firewall
/// tables; returns the live ones.
pub(crate) fn reclaim_stale(dir: &Path) -> Result<Vec<Lease>, NetError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut live = Vec::new();
    let mut netlink = None;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let lease: Lease = match std::fs::read(&path).ok().and_then(|text| serde_json::from_slice(&text).ok()) {
            Some(lease) => lease,
            None => {
                tracing::warn!(path = %path.display(), "ignoring an unreadable lease");
                continue;
            }
        };
        if lease.owner.is_alive() {
            live.push(lease);
            continue;
        }
        tracing::info!(address = %lease.file_name(), supervisor = lease.owner.pid, "reclaiming the lease of a sandbox whose supervisor is gone");
        if netlink.is_none() {
            netlink = Some(Netlink::open()?);
        }
        release_host_side(netlink.as_mut().expect("opened above"), &lease, None);
        let _ = std::fs::remove_file(&path);
    }
    Ok(live)
}

/// Deletes the sandbox's firewall table and host link, whichever still exist. The table goes
/// through `firewall` when the caller has the connection that made it.
pub(crate) fn release_host_side(netlink: &mut Netlink, lease: &Lease, firewall: Option<&super::nftables::Connection>) {
    let table = super::nftables::Table::new(super::nftables::Family::Inet, lease.table.clone());
    let batch = super::firewall::delete(&table);
    let sent = match firewall {
        Some(connection) => batch.send_on(connection),
        None => batch.send(),
    };
    match sent {
        Ok(()) | Err(super::nftables::NftError::NotFound { .. }) => {}
        Err(error) => tracing::warn!(table = %lease.table, %error, "cannot delete the sandbox's firewall table"),
    }
    if netlink.link_exists(&lease.host_link).unwrap_or(false) {
        if let Err(error) = netlink.delete_link(&lease.host_link) {
            tracing::warn!(link = %lease.host_link, %error, "cannot delete the sandbox's host link");
        }
    }
}

/// Removes the lease file, unless another sandbox holds it by now: a lease whose owner
/// died may be reclaimed and given out again before its own release comes.
pub(crate) fn remove(dir: &Path, lease: &Lease) {
    let path = dir.join(lease.file_name());
    let current: Option<Lease> = std::fs::read(&path).ok().and_then(|text| serde_json::from_slice(&text).ok());
    if current.is_some_and(|current| current.owner != lease.owner) {
        return;
    }
    if let Err(error) = std::fs::remove_file(&path) {
        tracing::warn!(path = %path.display(), %error, "cannot remove the lease");
    }
}

/// Counts the leases in the directory, live or not.
pub(crate) fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|entries| entries.flatten().filter(|entry| !entry.file_name().to_string_lossy().starts_with('.')).count()).unwrap_or(0)
}

/// How many addresses `address` lies after `network` (both of one family).
fn offset(network: IpAddr, address: IpAddr) -> u128 {
    match (network, address) {
        (IpAddr::V4(network), IpAddr::V4(address)) => u128::from(u32::from(address).wrapping_sub(u32::from(network))),
        (IpAddr::V6(network), IpAddr::V6(address)) => u128::from(address).wrapping_sub(u128::from(network)),
        _ => u128::MAX,
    }
}
