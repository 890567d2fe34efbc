//! The nf_tables rules airlock installs, as batches that replace a whole table at once.
//!
//! - On the host, one table per bridge network (`airlock-net-NAME`): NAT for traffic that
//!   leaves the network, and a forward chain that keeps other networks and unrequested
//!   inbound traffic out.
//! - On the host, one table per bridged sandbox (`airlock-sandbox-ID`): its published ports,
//!   and DNS redirected to a resolver that listens on the host's loopback.
//! - Inside a sandbox with `--allow-egress`, a table `airlock` whose output chain drops all
//!   but the granted destinations.

use super::nftables::{matches, statements, BaseChain, Batch, CtState, Family, Hook, Icmpv6Type, NftError, Policy, Table};
use super::Cidr;
use crate::spec::{EgressRule, Protocol};
use std::net::{IpAddr, SocketAddr};

impl From<Protocol> for super::nftables::Protocol {
    fn from(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Tcp => super::nftables::Protocol::Tcp,
            Protocol::Udp => super::nftables::Protocol::Udp,
        }
    }
}

/// Builds a batch that replaces `table` with an empty one. Adding first makes the delete
/// succeed whether or not the table existed, and the kernel applies all three at once.
fn fresh_table(table: &Table) -> Batch {
    let mut batch = Batch::new();
    batch.add_table(table).delete_table(table).add_table(table);
    batch
}

/// Builds the host's table for the bridge network `bridge` with the given subnets.
pub(crate) fn network_rules(table: &Table, bridge: &str, subnets: &[Cidr], internal: bool) -> Result<Batch, NftError> {
    let mut batch = fresh_table(table);

    batch.add_chain(table, "postrouting", Some(BaseChain::nat(Hook::Postrouting, 100)));
    if !internal {
        for subnet in subnets {
            let rule = [matches::saddr(*subnet), matches::not_oifname(bridge)?, statements::masquerade()].concat();
            batch.add_rule(table, "postrouting", &rule);
        }
    }
    // A published port reached at 127.0.0.1 on the host: the sandbox could not answer a
    // loopback source, so it sees the bridge's address instead.
    let loopback = [matches::saddr("127.0.0.0/8".parse().expect("a valid network")), matches::oifname(bridge)?, statements::masquerade()].concat();
    batch.add_rule(table, "postrouting", &loopback);
    // A sandbox that reaches another's published port at a host address: the reply must
    // come back through the host, which undoes the DNAT.
    for subnet in subnets {
        let hairpin = [matches::saddr(*subnet), matches::oifname(bridge)?, matches::ct_status_dnat(), statements::masquerade()].concat();
        batch.add_rule(table, "postrouting", &hairpin);
    }

    batch.add_chain(table, "forward", Some(BaseChain::filter(Hook::Forward, 0)));
    if internal {
        let outbound = [matches::iifname(bridge)?, matches::not_oifname(bridge)?, statements::drop()].concat();
        batch.add_rule(table, "forward", &outbound);
    } else {
        // A port published at the host's address is open to sandboxes on every network,
        // as to any other host: the DNAT made the connection a published one.
        let published_elsewhere = [matches::iifname(bridge)?, matches::ct_status_dnat(), statements::accept()].concat();
        batch.add_rule(table, "forward", &published_elsewhere);
    }
    // Other airlock networks are out of reach.
    let other_networks = [matches::iifname(bridge)?, matches::oifname_prefix(super::BRIDGE_PREFIX)?, matches::not_oifname(bridge)?, statements::drop()].concat();
    batch.add_rule(table, "forward", &other_networks);
    // Inbound: replies, and connections to published ports; nothing else.
    let replies = [matches::oifname(bridge)?, matches::ct_state(&[CtState::Established, CtState::Related]), statements::accept()].concat();
    batch.add_rule(table, "forward", &replies);
    let published = [matches::oifname(bridge)?, matches::ct_status_dnat(), statements::accept()].concat();
    batch.add_rule(table, "forward", &published);
    let unrequested = [matches::oifname(bridge)?, matches::not_iifname(bridge)?, statements::drop()].concat();
    batch.add_rule(table, "forward", &unrequested);
    Ok(batch)
}

/// One published port as the host's rules see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Forward {
    pub protocol: Protocol,
    /// Only this host address; every local address when unset.
    pub host_address: Option<IpAddr>,
    pub host_port: u16,
    pub target: SocketAddr,
}

/// DNS queries to the gateway, sent on to a resolver on the host's loopback.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DnsRedirect {
    pub bridge_address: IpAddr,
    pub sandbox_address: IpAddr,
    pub resolver: IpAddr,
}

/// Builds the host's table for one bridged sandbox: its published ports and DNS redirect.
pub(crate) fn sandbox_host_rules(table: &Table, forwards: &[Forward], dns: Option<DnsRedirect>) -> Result<Batch, NftError> {
    let mut batch = fresh_table(table);
    // Prerouting sees connections from other hosts and from sandboxes; output sees the
    // host's own, 127.0.0.1 included.
    for (chain, hook) in [("prerouting", Hook::Prerouting), ("output", Hook::Output)] {
        batch.add_chain(table, chain, Some(BaseChain::nat(hook, -100)));
        for forward in forwards {
            let destination = match forward.host_address {
                Some(address) => matches::daddr(Cidr::host(address)),
                None => matches::fib_daddr_local(),
            };
            let rule = [
                destination,
                matches::dport(forward.protocol.into(), forward.host_port),
                statements::dnat(forward.target.ip(), forward.target.port()),
            ]
            .concat();
            batch.add_rule(table, chain, &rule);
        }
    }
    if let Some(dns) = dns {
        for protocol in [Protocol::Udp, Protocol::Tcp] {
            let rule = [
                matches::saddr(Cidr::host(dns.sandbox_address)),
                matches::daddr(Cidr::host(dns.bridge_address)),
                matches::dport(protocol.into(), 53),
                statements::dnat(dns.resolver, 53),
            ]
            .concat();
            batch.add_rule(table, "prerouting", &rule);
        }
    }
    Ok(batch)
}

/// Builds the sandbox's own table when egress is limited: loopback, replies, neighbor discovery,
/// DNS to the resolvers and the granted destinations leave; everything else is dropped.
pub(crate) fn egress_rules(resolvers: &[IpAddr], egress: &[EgressRule]) -> Result<Batch, NftError> {
    let table = Table::new(Family::Inet, "airlock");
    let mut batch = Batch::new();
    batch.add_table(&table);
    batch.add_chain(&table, "output", Some(BaseChain::filter(Hook::Output, 0).with_policy(Policy::Drop)));

    batch.add_rule(&table, "output", &[matches::oifname("lo")?, statements::accept()].concat());
    let replies = [matches::ct_state(&[CtState::Established, CtState::Related]), statements::accept()].concat();
    batch.add_rule(&table, "output", &replies);
    // IPv6 finds its neighbors through ICMPv6, which passes the inet output chain (IPv4's
    // ARP is not IP and bypasses it), so without these rules no IPv6 packet leaves at all.
    for message in [Icmpv6Type::NeighborSolicit, Icmpv6Type::NeighborAdvert] {
        batch.add_rule(&table, "output", &[matches::icmpv6_type(message), statements::accept()].concat());
    }
    for resolver in resolvers {
        for protocol in [Protocol::Udp, Protocol::Tcp] {
            let dns = [matches::daddr(Cidr::host(*resolver)), matches::dport(protocol.into(), 53), statements::accept()].concat();
            batch.add_rule(&table, "output", &dns);
        }
    }
    for grant in egress {
        let protocols: Vec<Option<Protocol>> = match (grant.protocol, grant.ports) {
            (Some(protocol), _) => vec![Some(protocol)],
            // A port without a protocol means the port of either.
            (None, Some(_)) => vec![Some(Protocol::Tcp), Some(Protocol::Udp)],
            (None, None) => vec![None],
        };
        for protocol in protocols {
            let mut rule = matches::daddr(grant.network);
            match (protocol, grant.ports) {
                (Some(protocol), Some((first, last))) => rule.extend(matches::dport_range(protocol.into(), first, last)?),
                (Some(protocol), None) => rule.extend(matches::protocol(protocol.into())),
                (None, _) => {}
            }
            rule.extend(statements::accept());
            batch.add_rule(&table, "output", &rule);
        }
    }
    Ok(batch)
}

/// Builds a batch that deletes `table`. Sending it fails with [`NftError::NotFound`] when the table
/// is already gone.
pub(crate) fn delete(table: &Table) -> Batch {
    let mut batch = Batch::new();
    batch.delete_table(table);
    batch
}
