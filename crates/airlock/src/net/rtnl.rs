//! A synchronous rtnetlink client for bridges, veth pairs, addresses and routes. It sends one
//! request at a time and waits for the kernel's ack or error before it sends the next.

use super::cidr::{Cidr, CidrError};
use super::netlink::{KernelError, Socket};
use crate::error::describe;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::errno::Errno;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `IFNAMSIZ` from `linux/if.h`: an interface name and its terminating NUL.
const IFNAMSIZ: usize = 16;

/// The largest IPv4 TCP packet that airlock's bridges and veth pairs pass on in one piece
/// ("BIG TCP", Linux 6.3 and later): 192 KiB instead of 64 KiB. Fewer, larger packets cost
/// the sender's CPU less per byte. The kernel splits them for any link that allows less,
/// such as a network card on the way out. Older kernels ignore the attribute.
const IPV4_SEGMENT_BYTES: u32 = 192 * 1024;

/// How often a listing is read again when the kernel reports that it changed meanwhile.
const DUMP_ATTEMPTS: usize = 3;

/// A request the kernel or this client could not complete.
#[derive(Debug, thiserror::Error)]
pub enum RtnlError {
    #[error("invalid interface name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error(transparent)]
    InvalidAddress(#[from] CidrError),

    #[error("cannot open a netlink route socket: {}", describe(.0))]
    Socket(#[source] io::Error),

    #[error("cannot {operation}: no network interface named {name}")]
    LinkNotFound { operation: String, name: String },

    #[error("cannot {operation}: {source}")]
    Kernel { operation: String, source: KernelError },

    #[error("cannot {operation}: {}", describe(.source))]
    Io { operation: String, source: io::Error },
}

/// A route as the kernel lists it, from any routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `0.0.0.0/0` or `::/0` for a default route.
    pub destination: Cidr,
    /// The routing table: 254 is `main`, 255 is `local`.
    pub table: u32,
    /// The output interface's index; `None` for routes without one, such as multipath routes.
    pub interface_index: Option<u32>,
    /// The output interface's name, when it has an index that names a current link.
    pub interface: Option<String>,
}

/// A rtnetlink socket in the network namespace of the thread that opened it.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

impl Netlink {
    /// Opens a rtnetlink socket in the calling thread's current network namespace. Later
    /// requests act on that namespace, whichever thread sends them.
    pub fn open() -> Result<Netlink, RtnlError> {
        let socket = Socket::open(netlink_sys::protocols::NETLINK_ROUTE).map_err(RtnlError::Socket)?;
        Ok(Netlink { socket, sequence: 0 })
    }

    /// Creates a bridge named `name`; fails if a link of that name exists.
    pub fn create_bridge(&mut self, name: &str) -> Result<(), RtnlError> {
        check_name(name)?;
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.to_owned()));
        message.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]));
        self.create(RouteNetlinkMessage::NewLink(message), || format!("create bridge {name}"))
    }

    /// Creates a veth pair: `host_name` here, and `peer_name` already inside the network
    /// namespace that `peer_netns` refers to. One request does both, so no moment exists
    /// where the peer is visible in this namespace.
    pub fn create_veth(
        &mut self,
        host_name: &str,
        peer_name: &str,
        peer_netns: BorrowedFd<'_>,
    ) -> Result<(), RtnlError> {
        check_name(host_name)?;
        check_name(peer_name)?;
        let mut peer = LinkMessage::default();
        peer.attributes.push(LinkAttribute::IfName(peer_name.to_owned()));
        peer.attributes.push(LinkAttribute::NetNsFd(peer_netns.as_raw_fd()));
        peer.attributes.push(LinkAttribute::GsoIpv4MaxSize(IPV4_SEGMENT_BYTES));

        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(host_name.to_owned()));
        message.attributes.push(LinkAttribute::GsoIpv4MaxSize(IPV4_SEGMENT_BYTES));
        message.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.create(RouteNetlinkMessage::NewLink(message), || format!("create veth pair {host_name} and {peer_name}"))
    }

    /// Makes `link` a port of the bridge `bridge`.
    pub fn set_master(&mut self, link: &str, bridge: &str) -> Result<(), RtnlError> {
        let operation = || format!("attach {link} to bridge {bridge}");
        let bridge_index = self.require_index(bridge, operation)?;
        self.change_link(link, LinkAttribute::Controller(bridge_index), operation)
    }

    /// Raises the packet size of the bridge `bridge` to [`IPV4_SEGMENT_BYTES`], as
    /// [`Netlink::create_veth`] does for veth pairs. A bridge starts at 64 KiB and goes no
    /// higher than its ports allow, so call this after [`Netlink::set_master`]. A bridge
    /// with a port that allows less keeps its size, which costs speed but breaks nothing.
    pub fn allow_large_segments(&mut self, bridge: &str) -> Result<(), RtnlError> {
        let attribute = LinkAttribute::GsoIpv4MaxSize(IPV4_SEGMENT_BYTES);
        match self.change_link(bridge, attribute, || format!("raise the packet size of bridge {bridge}")) {
            Err(RtnlError::Kernel { source, .. }) if source.errno() == Errno::EINVAL => {
                tracing::debug!(%bridge, reason = %source, "the bridge keeps its packet size");
                Ok(())
            }
            result => result,
        }
    }

    /// Lets the bridge send frames back out of its port `port`, where they came in
    /// ("hairpin" mode). A sandbox that connects to its own published port needs it: the
    /// DNAT turns the connection back to the sandbox, through the port it came from.
    pub fn set_hairpin(&mut self, port: &str) -> Result<(), RtnlError> {
        let attribute = LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(true)])),
        ]);
        self.change_link(port, attribute, || format!("turn on hairpin mode on bridge port {port}"))
    }

    /// Brings `link` up.
    pub fn set_up(&mut self, link: &str) -> Result<(), RtnlError> {
        check_name(link)?;
        let mut message = LinkMessage::default();
        message.header.flags = LinkFlags::Up;
        message.header.change_mask = LinkFlags::Up;
        message.attributes.push(LinkAttribute::IfName(link.to_owned()));
        self.acked(RouteNetlinkMessage::NewLink(message), 0, Some(link), || format!("bring {link} up"))
    }

    /// Sets the MTU of `link`, in bytes.
    pub fn set_mtu(&mut self, link: &str, mtu: u32) -> Result<(), RtnlError> {
        self.change_link(link, LinkAttribute::Mtu(mtu), || format!("set the MTU of {link} to {mtu}"))
    }

    /// Deletes `link`; deleting one end of a veth pair deletes both.
    pub fn delete_link(&mut self, link: &str) -> Result<(), RtnlError> {
        check_name(link)?;
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(link.to_owned()));
        self.acked(RouteNetlinkMessage::DelLink(message), 0, Some(link), || format!("delete link {link}"))
    }

    /// Returns the index of the link named `name`, or `None` when there is none.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>, RtnlError> {
        check_name(name)?;
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.to_owned()));
        let operation = || format!("look up link {name}");
        match self.request(RouteNetlinkMessage::GetLink(message), NLM_F_ACK, Some(name), operation) {
            Ok(replies) => match replies.as_slice() {
                [RouteNetlinkMessage::NewLink(link)] => Ok(Some(link.header.index)),
                _ => Err(unexpected_reply(operation())),
            },
            Err(RtnlError::LinkNotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Tells whether a link named `name` exists.
    pub fn link_exists(&mut self, name: &str) -> Result<bool, RtnlError> {
        Ok(self.link_index(name)?.is_some())
    }

    /// Adds `address/prefix_len` to `link`. IPv6 addresses skip duplicate address detection,
    /// because a sandbox's links are new and private, and a tentative address could not be
    /// bound to for the seconds that detection takes.
    pub fn add_address(&mut self, link: &str, address: IpAddr, prefix_len: u8) -> Result<(), RtnlError> {
        let operation = || format!("add address {address}/{prefix_len} to {link}");
        let cidr = Cidr::new(address, prefix_len)?;
        let index = self.require_index(link, operation)?;

        let mut message = AddressMessage::default();
        message.header.family = family_of(address);
        message.header.prefix_len = cidr.prefix_len();
        message.header.index = index;
        if address.is_ipv6() {
            message.header.flags = AddressHeaderFlags::Nodad;
        }
        message.attributes.push(AddressAttribute::Local(address));
        message.attributes.push(AddressAttribute::Address(address));
        self.create(RouteNetlinkMessage::NewAddress(message), operation)
    }

    /// Adds a default route through `gateway` to the main table; the kernel picks the
    /// interface whose network contains the gateway.
    pub fn add_default_route(&mut self, gateway: IpAddr) -> Result<(), RtnlError> {
        let mut message = RouteMessage::default();
        message.header.address_family = family_of(gateway);
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        message.header.protocol = RouteProtocol::Boot;
        message.header.scope = RouteScope::Universe;
        message.header.kind = RouteType::Unicast;
        message.attributes.push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
        self.create(RouteNetlinkMessage::NewRoute(message), || format!("add a default route via {gateway}"))
    }

    /// Lists the IPv4 and IPv6 routes of every routing table, local and broadcast routes
    /// included, so a caller can pick a network that overlaps none of them.
    pub fn list_routes(&mut self) -> Result<Vec<Route>, RtnlError> {
        let names = self.link_names()?;
        let replies = self.dump(RouteNetlinkMessage::GetRoute(RouteMessage::default()), || "list routes".to_owned())?;

        let mut routes = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewRoute(route) = reply else {
                continue;
            };
            if let Some(route) = decode_route(&route, &names) {
                routes.push(route);
            }
        }
        Ok(routes)
    }

    /// Maps every link's index to its name.
    fn link_names(&mut self) -> Result<HashMap<u32, String>, RtnlError> {
        let replies = self.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()), || "list links".to_owned())?;
        let mut names = HashMap::new();
        for reply in replies {
            let RouteNetlinkMessage::NewLink(link) = reply else {
                continue;
            };
            for attribute in link.attributes {
                if let LinkAttribute::IfName(name) = attribute {
                    names.insert(link.header.index, name);
                }
            }
        }
        Ok(names)
    }

    /// Sets one attribute of the existing link `link`, which the request names.
    fn change_link(
        &mut self,
        link: &str,
        attribute: LinkAttribute,
        operation: impl Fn() -> String,
    ) -> Result<(), RtnlError> {
        check_name(link)?;
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(link.to_owned()));
        message.attributes.push(attribute);
        self.acked(RouteNetlinkMessage::NewLink(message), 0, Some(link), operation)
    }

    fn require_index(&mut self, name: &str, operation: impl Fn() -> String) -> Result<u32, RtnlError> {
        self.link_index(name)?.ok_or_else(|| RtnlError::LinkNotFound { operation: operation(), name: name.to_owned() })
    }

    /// Sends a request that creates an object, failing if it exists.
    fn create(&mut self, message: RouteNetlinkMessage, operation: impl Fn() -> String) -> Result<(), RtnlError> {
        self.acked(message, NLM_F_CREATE | NLM_F_EXCL, None, operation)
    }

    fn acked(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        link: Option<&str>,
        operation: impl Fn() -> String,
    ) -> Result<(), RtnlError> {
        self.request(message, flags | NLM_F_ACK, link, operation).map(drop)
    }

    /// Lists objects, reading the list again if it changed while the kernel sent it, because
    /// a caller choosing a free network must not miss a route.
    // NOTE: no test makes the kernel interrupt a dump, so the retry path has not run.
    fn dump(
        &mut self,
        message: RouteNetlinkMessage,
        operation: impl Fn() -> String,
    ) -> Result<Vec<RouteNetlinkMessage>, RtnlError> {
        let mut attempt = 1;
        loop {
            match self.request(message.clone(), NLM_F_DUMP, None, &operation) {
                Err(RtnlError::Io { source, .. })
                    if source.kind() == io::ErrorKind::Interrupted && attempt < DUMP_ATTEMPTS =>
                {
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Sends one request and collects the replies that carry its sequence number, until its
    /// ack (`NLM_F_ACK`), its end (`NLM_F_DUMP`) or its error. `link` names the link the
    /// request acts on, if any, so an `ENODEV` error can name the missing link.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        link: Option<&str>,
        operation: impl Fn() -> String,
    ) -> Result<Vec<RouteNetlinkMessage>, RtnlError> {
        tracing::debug!(operation = %operation(), "sending an rtnetlink request");
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.sequence;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::from(message));
        request.finalize();
        let mut datagram = vec![0; request.buffer_len()];
        request.serialize(&mut datagram);

        let io_error = |source| RtnlError::Io { operation: operation(), source };
        self.socket.send(&datagram).map_err(io_error)?;
        let mut replies = Vec::new();
        let mut interrupted = false;
        loop {
            for reply in self.socket.receive::<RouteNetlinkMessage>().map_err(io_error)? {
                if reply.header.sequence_number != self.sequence {
                    continue;
                }
                interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    NetlinkPayload::Error(error) if error.code.is_none() => return Ok(replies),
                    NetlinkPayload::Error(error) => {
                        let error = KernelError::from_reply(reply.header.flags, &error);
                        return Err(kernel_error(error, link, operation()));
                    }
                    NetlinkPayload::Done(done) if done.code == 0 && interrupted => {
                        let changed = "the list changed while the kernel sent it";
                        return Err(io_error(io::Error::new(io::ErrorKind::Interrupted, changed)));
                    }
                    NetlinkPayload::Done(done) if done.code == 0 => return Ok(replies),
                    NetlinkPayload::Done(done) => {
                        let error = io::Error::from_raw_os_error(done.code.abs());
                        return Err(io_error(error));
                    }
                    // Noop and overrun messages carry nothing for this request.
                    _ => {}
                }
            }
        }
    }
}

fn kernel_error(error: KernelError, link: Option<&str>, operation: String) -> RtnlError {
    match link {
        Some(name) if error.errno() == Errno::ENODEV => RtnlError::LinkNotFound { operation, name: name.to_owned() },
        _ => RtnlError::Kernel { operation, source: error },
    }
}

fn unexpected_reply(operation: String) -> RtnlError {
    RtnlError::Io {
        operation,
        source: io::Error::new(io::ErrorKind::InvalidData, "the kernel's reply is not the expected kind"),
    }
}

fn family_of(address: IpAddr) -> AddressFamily {
    match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// Converts a listed route into a [`Route`], or returns `None` for a family other than IPv4
/// and IPv6.
fn decode_route(route: &RouteMessage, names: &HashMap<u32, String>) -> Option<Route> {
    let unspecified: IpAddr = match route.header.address_family {
        AddressFamily::Inet => std::net::Ipv4Addr::UNSPECIFIED.into(),
        AddressFamily::Inet6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
        _ => return None,
    };
    let mut destination = unspecified;
    let mut table = u32::from(route.header.table);
    let mut interface_index = None;
    for attribute in &route.attributes {
        match attribute {
            RouteAttribute::Destination(RouteAddress::Inet(address)) => destination = (*address).into(),
            RouteAttribute::Destination(RouteAddress::Inet6(address)) => destination = (*address).into(),
            // Tables above 255 exist only in this attribute; the header then says 252.
            RouteAttribute::Table(id) => table = *id,
            RouteAttribute::Oif(index) => interface_index = Some(*index),
            _ => {}
        }
    }
    let destination = Cidr::new(destination, route.header.destination_prefix_length).ok()?;
    Some(Route {
        destination,
        table,
        interface_index,
        interface: interface_index.and_then(|index| names.get(&index).cloned()),
    })
}

/// Checks `name` as the kernel's `dev_valid_name` does, so a bad name is reported here with
/// its reason instead of as the kernel's bare `EINVAL`.
fn check_name(name: &str) -> Result<(), RtnlError> {
    let reason = if name.is_empty() {
        "the name is empty"
    } else if name.len() >= IFNAMSIZ {
        "an interface name is at most 15 bytes"
    } else if name == "." || name == ".." {
        "\".\" and \"..\" are not interface names"
    } else if name.bytes().any(is_forbidden_in_name) {
        "an interface name cannot contain '/', ':', NUL or white space"
    } else {
        return Ok(());
    };
    Err(RtnlError::InvalidName { name: name.to_owned(), reason })
}

/// Tells whether the kernel forbids `byte` in an interface name. White space is what C's
/// `isspace` counts, so vertical tab is included, which `is_ascii_whitespace` leaves out.
fn is_forbidden_in_name(byte: u8) -> bool {
    matches!(byte, b'/' | b':' | 0 | 0x0b) || byte.is_ascii_whitespace()
}

#[cfg(test)]
mod tests;
