//! The network a sandbox is granted: which namespace, its ports and its outbound rules.

use super::SpecError;
use crate::net::Cidr;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// The bridge network `--net bridge` uses when it names none; created on first use.
pub const DEFAULT_NETWORK: &str = "airlock0";

/// The network a sandbox is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Network {
    pub mode: NetMode,
    /// Host ports forwarded to the sandbox (`bridge` and `user` modes).
    pub publish: Vec<PortMapping>,
    /// When not empty, the only destinations the sandbox may open connections to, besides
    /// its resolvers.
    pub allow_egress: Vec<EgressRule>,
    /// Resolvers for the sandbox's `/etc/resolv.conf`, in place of the host's.
    pub dns: Vec<IpAddr>,
    /// Fixed addresses on a bridge network, at most one per IP version.
    pub ip: Vec<IpAddr>,
}

/// Which network namespace the sandbox gets and what is in it.
///
/// Written as one word, the way `--net` takes it: `none`, `host`, `bridge`,
/// `bridge:NETWORK`, `user`, `netns:PATH` or `sandbox:NAME`. `bridge` alone is
/// `bridge:airlock0`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(schema_with = "net_mode_schema")]
pub enum NetMode {
    /// A new network namespace with only `lo`, up.
    #[default]
    None,
    /// The caller's network namespace.
    Host,
    /// A new network namespace joined to the bridge of the named network by a veth pair,
    /// with an address on its subnet (root only).
    Bridge(String),
    /// A new network namespace connected to the host's network by `pasta`, user-mode
    /// networking that works for any user.
    User,
    /// An existing network namespace, such as `/run/netns/NAME` made by `ip netns add`.
    Netns(PathBuf),
    /// The network namespace of a running named sandbox.
    Sandbox(String),
}

impl NetMode {
    /// Whether the sandbox gets a network namespace of its own.
    pub fn has_own_namespace(&self) -> bool {
        matches!(self, NetMode::None | NetMode::Bridge(_) | NetMode::User)
    }
}

impl fmt::Display for NetMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetMode::None => f.write_str("none"),
            NetMode::Host => f.write_str("host"),
            NetMode::Bridge(network) => write!(f, "bridge:{network}"),
            NetMode::User => f.write_str("user"),
            NetMode::Netns(path) => write!(f, "netns:{}", path.display()),
            NetMode::Sandbox(name) => write!(f, "sandbox:{name}"),
        }
    }
}

impl FromStr for NetMode {
    type Err = String;

    fn from_str(text: &str) -> Result<NetMode, String> {
        if let Some(path) = text.strip_prefix("netns:") {
            let path = std::path::absolute(path).map_err(|error| format!("invalid namespace path {path:?}: {error}"))?;
            return Ok(NetMode::Netns(path));
        }
        if let Some(name) = text.strip_prefix("sandbox:") {
            return Ok(NetMode::Sandbox(name.to_string()));
        }
        if let Some(network) = text.strip_prefix("bridge:") {
            return Ok(NetMode::Bridge(network.to_string()));
        }
        match text {
            "none" => Ok(NetMode::None),
            "host" => Ok(NetMode::Host),
            "bridge" => Ok(NetMode::Bridge(DEFAULT_NETWORK.to_string())),
            "user" => Ok(NetMode::User),
            _ => Err("expected none, host, bridge[:NETWORK], user, netns:PATH or sandbox:NAME".to_string()),
        }
    }
}

/// Builds the JSON Schema of a [`NetMode`] as [`NetMode::from_str`] reads it: one of the
/// plain words, or a prefix with a network name, path or sandbox name.
fn net_mode_schema(_generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "anyOf": [
            { "enum": ["none", "host", "bridge", "user"] },
            {
                "pattern": "^(bridge|netns|sandbox):.+$",
                "examples": ["bridge:web", "netns:/run/netns/vpn", "sandbox:db"],
            },
        ],
    })
}

impl TryFrom<String> for NetMode {
    type Error = String;

    fn try_from(text: String) -> Result<NetMode, String> {
        text.parse()
    }
}

impl From<NetMode> for String {
    fn from(mode: NetMode) -> String {
        mode.to_string()
    }
}

/// A transport protocol that ports and egress rules name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// Splits a trailing `/tcp` or `/udp` off `text`.
fn split_protocol(text: &str) -> (&str, Option<Protocol>) {
    if let Some(rest) = text.strip_suffix("/tcp") {
        (rest, Some(Protocol::Tcp))
    } else if let Some(rest) = text.strip_suffix("/udp") {
        (rest, Some(Protocol::Udp))
    } else {
        (text, None)
    }
}

/// Parses a port number, 1 to 65535.
fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u32>() {
        Ok(port @ 1..=65535) => Ok(port as u16),
        Ok(_) => Err(format!("port {text} is outside 1-65535")),
        Err(_) => Err(format!("{text:?} is not a port number")),
    }
}

/// A host port forwarded to a port of the sandbox: `[HOSTIP:]HOSTPORT:PORT[/tcp|/udp]`, TCP
/// when no protocol is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(
    extend("pattern" = "^(.+:)?[0-9]+:[0-9]+(/tcp|/udp)?$"),
    example = "8080:80",
    example = "127.0.0.1:5353:53/udp",
    example = "[::1]:8443:443/tcp"
)]
pub struct PortMapping {
    /// Only connections to this host address are forwarded; all of the host's when unset.
    pub host_address: Option<IpAddr>,
    pub host_port: u16,
    pub port: u16,
    pub protocol: Protocol,
}

impl FromStr for PortMapping {
    type Err = String;

    fn from_str(text: &str) -> Result<PortMapping, String> {
        let (rest, protocol) = split_protocol(text);
        // The container port is after the last colon; an IPv6 host address is bracketed.
        let (front, port) = rest.rsplit_once(':').ok_or("expected [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]")?;
        let (host_address, host_port) = match front.rsplit_once(':') {
            Some((address, host_port)) => {
                let address = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(address);
                let address: IpAddr = address.parse().map_err(|_| format!("{address:?} is not an IP address"))?;
                (Some(address), host_port)
            }
            None => (None, front),
        };
        Ok(PortMapping {
            host_address,
            host_port: parse_port(host_port)?,
            port: parse_port(port)?,
            protocol: protocol.unwrap_or(Protocol::Tcp),
        })
    }
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_address {
            Some(IpAddr::V6(address)) => write!(f, "[{address}]:")?,
            Some(IpAddr::V4(address)) => write!(f, "{address}:")?,
            None => {}
        }
        write!(f, "{}:{}/{}", self.host_port, self.port, self.protocol)
    }
}

impl TryFrom<String> for PortMapping {
    type Error = String;

    fn try_from(text: String) -> Result<PortMapping, String> {
        text.parse()
    }
}

impl From<PortMapping> for String {
    fn from(mapping: PortMapping) -> String {
        mapping.to_string()
    }
}

/// A destination the sandbox may reach when egress is limited:
/// `CIDR[:PORT[-PORT]][/tcp|/udp]`, with an IPv6 network in brackets when a port follows.
/// A bare address is a network of one host. Without a port, every port is allowed. Without a
/// protocol, TCP and UDP are allowed, and every protocol when there is no port either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(example = "10.0.0.0/8:443/tcp", example = "192.0.2.7:1000-2000", example = "[2001:db8::1]:53/udp")]
pub struct EgressRule {
    pub network: Cidr,
    /// The first and last destination port, both included; every port when unset.
    pub ports: Option<(u16, u16)>,
    /// TCP or UDP only; both (and with no port, every protocol) when unset.
    pub protocol: Option<Protocol>,
}

impl FromStr for EgressRule {
    type Err = String;

    fn from_str(text: &str) -> Result<EgressRule, String> {
        let (rest, protocol) = split_protocol(text);
        let (network, ports) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (network, after) = bracketed.split_once(']').ok_or("a '[' without its ']'")?;
            match after.strip_prefix(':') {
                Some(ports) => (network, Some(ports)),
                None if after.is_empty() => (network, None),
                None => return Err(format!("unexpected {after:?} after the network")),
            }
        } else if rest.contains('.') {
            match rest.split_once(':') {
                Some((network, ports)) => (network, Some(ports)),
                None => (rest, None),
            }
        } else {
            // An IPv6 network without brackets has no port.
            (rest, None)
        };
        let network: Cidr = network.parse().map_err(|error: crate::net::CidrError| error.to_string())?;
        let ports = match ports {
            None => None,
            Some(ports) => {
                let (first, last) = ports.split_once('-').unwrap_or((ports, ports));
                let (first, last) = (parse_port(first)?, parse_port(last)?);
                if first > last {
                    return Err(format!("the port range {first}-{last} is empty"));
                }
                Some((first, last))
            }
        };
        Ok(EgressRule { network, ports, protocol })
    }
}

impl fmt::Display for EgressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.network.address(), self.ports) {
            (IpAddr::V6(_), Some(_)) => write!(f, "[{}]", self.network)?,
            _ => write!(f, "{}", self.network)?,
        }
        match self.ports {
            Some((first, last)) if first == last => write!(f, ":{first}")?,
            Some((first, last)) => write!(f, ":{first}-{last}")?,
            None => {}
        }
        if let Some(protocol) = self.protocol {
            write!(f, "/{protocol}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for EgressRule {
    type Error = String;

    fn try_from(text: String) -> Result<EgressRule, String> {
        text.parse()
    }
}

impl From<EgressRule> for String {
    fn from(rule: EgressRule) -> String {
        rule.to_string()
    }
}

impl Network {
    /// Checks that the grants fit the mode and that the caller may use the mode.
    pub(crate) fn validate(&self, is_root: bool, cap_net_admin: bool) -> Result<(), SpecError> {
        let mode = &self.mode;
        match mode {
            NetMode::Bridge(network) => {
                crate::net::check_network_name(network).map_err(|why| SpecError::invalid("network name", network, why))?;
                if !is_root {
                    return Err(SpecError::NotPermitted(
                        "--net bridge needs root, because it creates links and firewall rules on the host; \
                         as an ordinary user, use --net user"
                            .into(),
                    ));
                }
            }
            NetMode::User if crate::net::pasta::find().is_none() => {
                return Err(SpecError::NotPermitted(
                    "--net user needs pasta, which is not installed: install the passt package \
                     (apt install passt) or choose another --net"
                        .into(),
                ));
            }
            NetMode::Sandbox(name) if crate::named::check_name(name).is_err() => {
                return Err(SpecError::invalid("sandbox name", name, "use 1 to 63 letters, digits, '_', '.' and '-'"));
            }
            _ => {}
        }

        let bridged_or_user = matches!(mode, NetMode::Bridge(_) | NetMode::User);
        if !self.publish.is_empty() && !bridged_or_user {
            let why = match mode {
                NetMode::Host => "with --net host the sandbox's ports are the host's already",
                _ => "only --net bridge and --net user forward ports",
            };
            return Err(SpecError::Conflict(format!("--publish does not work with --net {mode}: {why}")));
        }
        let mut seen = std::collections::HashSet::new();
        for mapping in &self.publish {
            if !seen.insert((mapping.host_address, mapping.host_port, mapping.protocol)) {
                return Err(SpecError::invalid("--publish", mapping, "this host port is published twice"));
            }
        }
        let local = if self.publish.iter().any(|mapping| mapping.host_address.is_some()) { local_addresses() } else { None };
        let unknown = |address: IpAddr| local.as_ref().is_some_and(|local| !local.contains(&address));
        if let Some(mapping) = self.publish.iter().find(|mapping| mapping.host_address.is_some_and(unknown)) {
            return Err(SpecError::invalid(
                "--publish",
                mapping,
                "no interface of this host has that address; name one it has, or leave the address out",
            ));
        }

        if !self.allow_egress.is_empty() {
            if !mode.has_own_namespace() {
                return Err(SpecError::Conflict(format!(
                    "--allow-egress does not work with --net {mode}: the rules go in the sandbox's own network \
                     namespace, and this one is shared; use --net bridge or --net user"
                )));
            }
            if cap_net_admin {
                return Err(SpecError::Conflict(
                    "--allow-egress cannot be kept with CAP_NET_ADMIN, which lets the payload remove the rules; \
                     drop --cap-add NET_ADMIN"
                        .into(),
                ));
            }
        }

        if !self.ip.is_empty() {
            if !matches!(mode, NetMode::Bridge(_)) {
                return Err(SpecError::Conflict(format!("--ip needs --net bridge, not --net {mode}")));
            }
            if self.ip.iter().filter(|ip| ip.is_ipv4()).count() > 1 || self.ip.iter().filter(|ip| ip.is_ipv6()).count() > 1 {
                return Err(SpecError::Conflict("--ip takes at most one IPv4 and one IPv6 address".into()));
            }
        }
        if !self.dns.is_empty() && *mode == NetMode::None {
            return Err(SpecError::Conflict(
                "--dns needs a network: with --net none the sandbox has only lo; choose --net bridge, user or host".into(),
            ));
        }
        Ok(())
    }
}


/// The addresses of the caller's network namespace, where published ports listen; `None`
/// when they cannot be listed.
fn local_addresses() -> Option<Vec<IpAddr>> {
    let interfaces = nix::ifaddrs::getifaddrs().ok()?;
    let addresses = interfaces
        .filter_map(|interface| interface.address)
        .filter_map(|address| {
            address
                .as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
        })
        .collect();
    Some(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for text in ["none", "host", "bridge:web", "user", "netns:/run/netns/x", "sandbox:db"] {
            let mode: NetMode = text.parse().unwrap();
            assert_eq!(mode.to_string(), text);
        }
        assert_eq!("bridge".parse::<NetMode>().unwrap(), NetMode::Bridge(DEFAULT_NETWORK.into()));
        assert!("wifi".parse::<NetMode>().is_err());
    }

    #[test]
    fn port_mappings_parse() {
        let mapping: PortMapping = "8080:80".parse().unwrap();
        assert_eq!(mapping, PortMapping { host_address: None, host_port: 8080, port: 80, protocol: Protocol::Tcp });
        let mapping: PortMapping = "127.0.0.1:5353:53/udp".parse().unwrap();
        assert_eq!(mapping.host_address, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(mapping.protocol, Protocol::Udp);
        let mapping: PortMapping = "[::1]:8443:443/tcp".parse().unwrap();
        assert_eq!(mapping.host_address, Some("::1".parse().unwrap()));
        assert_eq!(mapping.to_string(), "[::1]:8443:443/tcp");
        for bad in ["80", "0:80", "8080:70000", "x:80", "1.2.3:80:80", "8080:80/sctp"] {
            assert!(bad.parse::<PortMapping>().is_err(), "{bad}");
        }
    }

    #[test]
    fn egress_rules_parse() {
        let rule: EgressRule = "10.0.0.0/8:443/tcp".parse().unwrap();
        assert_eq!(rule.ports, Some((443, 443)));
        assert_eq!(rule.protocol, Some(Protocol::Tcp));
        let rule: EgressRule = "192.0.2.7:1000-2000".parse().unwrap();
        assert_eq!(rule.network.prefix_len(), 32);
        assert_eq!(rule.ports, Some((1000, 2000)));
        assert_eq!(rule.protocol, None);
        let rule: EgressRule = "2001:db8::/32".parse().unwrap();
        assert_eq!(rule.ports, None);
        let rule: EgressRule = "[2001:db8::1]:53/udp".parse().unwrap();
        assert_eq!(rule.to_string(), "[2001:db8::1/128]:53/udp");
        for bad in ["10.0.0.0/33", "10.0.0.1:0", "10.0.0.1:2000-1000", "[2001:db8::1", "example.com:80"] {
            assert!(bad.parse::<EgressRule>().is_err(), "{bad}");
        }
    }
}
