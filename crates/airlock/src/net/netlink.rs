//! The netlink socket that the rtnetlink client and the nf_tables batch share: opening it in
//! the calling thread's network namespace, sending, receiving whole datagrams, and decoding
//! the kernel's `NLMSG_ERROR` replies with their extended-ack message.

use crate::error::describe;
use netlink_packet_core::{
    ErrorMessage, NetlinkBuffer, NetlinkDeserializable, NetlinkMessage, NlasIterator, NLM_F_ACK_TLVS, NLM_F_CAPPED,
};
use nix::errno::Errno;
use std::fmt;
use std::io;
use std::time::Duration;

/// The maximum wait for one reply datagram. The kernel replies as it handles each request,
/// so a wait this long means no reply is coming, and failing beats hanging the caller.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Length of `struct nlmsghdr`, which starts every message and every ack's echoed request.
const HEADER_LEN: usize = 16;

/// `NLMSGERR_ATTR_MSG` from `linux/netlink.h`: the extended ack's message text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// An error the kernel returned for a netlink request: the errno and, when the kernel sent
/// one, its extended-ack message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    errno: Errno,
    message: Option<String>,
}

impl KernelError {
    /// Returns the error number, positive (`EEXIST`, not `-EEXIST`).
    pub fn errno(&self) -> Errno {
        self.errno
    }

    /// Returns the kernel's own explanation, such as `Nexthop has invalid gateway`.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Decodes an `NLMSG_ERROR` whose code is not zero. `flags` are the reply's header flags:
    /// `NLM_F_CAPPED` marks an echo cut to the request's header, `NLM_F_ACK_TLVS` attributes.
    pub(crate) fn from_reply(flags: u16, error: &ErrorMessage) -> KernelError {
        KernelError {
            errno: Errno::from_raw(error.raw_code().abs()),
            message: extended_ack_message(flags, &error.header),
        }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = describe(&io::Error::from_raw_os_error(self.errno as i32));
        match &self.message {
            Some(message) => write!(f, "{text} ({message})"),
            None => f.write_str(&text),
        }
    }
}

impl std::error::Error for KernelError {}

/// Finds `NLMSGERR_ATTR_MSG` in what follows an error's code: the echoed request (its header
/// alone when `NLM_F_CAPPED` is set), then attributes when `NLM_F_ACK_TLVS` is set.
fn extended_ack_message(flags: u16, echoed: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || echoed.len() < HEADER_LEN {
        return None;
    }
    let request_len = if flags & NLM_F_CAPPED != 0 {
        HEADER_LEN
    } else {
        let length = u32::from_ne_bytes(echoed[..4].try_into().ok()?) as usize;
        length.checked_next_multiple_of(4)?
    };
    let attributes = echoed.get(request_len..)?;
    for attribute in NlasIterator::new(attributes) {
        let attribute = attribute.ok()?;
        if attribute.kind() == NLMSGERR_ATTR_MSG {
            let text = attribute.value().split(|&byte| byte == 0).next().unwrap_or_default();
            return Some(String::from_utf8_lossy(text).into_owned());
        }
    }
    None
}

/// A netlink socket bound in the network namespace of the thread that opened it. It stays
/// in that namespace whichever thread uses it later.
pub(crate) struct Socket {
    socket: netlink_sys::Socket,
}

impl Socket {
    /// Opens a socket for `protocol` (`NETLINK_ROUTE`, `NETLINK_NETFILTER`) that talks to the
    /// kernel only.
    pub(crate) fn open(protocol: isize) -> io::Result<Socket> {
        let mut socket = netlink_sys::Socket::new(protocol)?;
        socket.bind_auto()?;
        socket.connect(&netlink_sys::SocketAddr::new(0, 0))?;

        // Extended acks carry the kernel's reason for a rejection. Capped acks echo only the
        // request's header, so a rejected large request does not come back whole.
        socket.set_ext_ack(true)?;
        socket.set_cap_ack(true)?;
        rustix::net::sockopt::set_socket_timeout(&socket, rustix::net::sockopt::Timeout::Recv, Some(REPLY_TIMEOUT))?;
        Ok(Socket { socket })
    }

    /// Makes room for a datagram of `send` bytes and for `receive` bytes of replies queued at
    /// once, beyond the system's defaults where needed. The forced setting needs
    /// `CAP_NET_ADMIN`; without it the sizes stop at `net.core.wmem_max` and `rmem_max`.
    pub(crate) fn reserve_buffers(&self, send: usize, receive: usize) -> io::Result<()> {
        use rustix::net::sockopt;
        if sockopt::socket_send_buffer_size(&self.socket)? < send {
            sockopt::set_socket_send_buffer_size_force(&self.socket, send)
                .or_else(|_| sockopt::set_socket_send_buffer_size(&self.socket, send))?;
        }
        if sockopt::socket_recv_buffer_size(&self.socket)? < receive {
            sockopt::set_socket_recv_buffer_size_force(&self.socket, receive)
                .or_else(|_| sockopt::set_socket_recv_buffer_size(&self.socket, receive))?;
        }
        Ok(())
    }

    /// Sends one datagram that contains one or more messages.
    pub(crate) fn send(&self, datagram: &[u8]) -> io::Result<()> {
        let sent = self.socket.send(datagram, 0)?;
        if sent != datagram.len() {
            return Err(io::Error::other(format!("sent {sent} of {} bytes", datagram.len())));
        }
        Ok(())
    }

    /// Receives one datagram and decodes each message in it.
    pub(crate) fn receive<I: NetlinkDeserializable>(&self) -> io::Result<Vec<NetlinkMessage<I>>> {
        let (datagram, _) = self.socket.recv_from_full().map_err(|error| match error.kind() {
            io::ErrorKind::WouldBlock => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no reply from the kernel within {} seconds", REPLY_TIMEOUT.as_secs()),
            ),
            _ => error,
        })?;
        split(&datagram)
    }
}

/// Decodes every message in a datagram; each starts at a 4-byte boundary.
fn split<I: NetlinkDeserializable>(datagram: &[u8]) -> io::Result<Vec<NetlinkMessage<I>>> {
    let invalid =
        |error: netlink_packet_core::DecodeError| io::Error::new(io::ErrorKind::InvalidData, error.to_string());
    let mut messages = Vec::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        let length = NetlinkBuffer::new_checked(rest).map_err(invalid)?.length() as usize;
        messages.push(NetlinkMessage::deserialize(&rest[..length]).map_err(invalid)?);
        rest = &rest[length.next_multiple_of(4).min(rest.len())..];
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::RouteNetlinkMessage;
    use std::num::NonZeroI32;

    /// Builds the part of an `NLMSG_ERROR` after its code: a capped echo of a 40-byte
    /// request's header, then one `NLMSGERR_ATTR_MSG` attribute.
    fn capped_echo_with_message(text: &str) -> Vec<u8> {
        let mut echoed = Vec::new();
        echoed.extend_from_slice(&40u32.to_ne_bytes());
        echoed.extend_from_slice(&[0; HEADER_LEN - 4]);
        let value_len = text.len() + 1;
        echoed.extend_from_slice(&((4 + value_len) as u16).to_ne_bytes());
        echoed.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        echoed.extend_from_slice(text.as_bytes());
        echoed.push(0);
        echoed.resize(echoed.len().next_multiple_of(4), 0);
        echoed
    }

    fn error_message(code: i32, echoed: Vec<u8>) -> ErrorMessage {
        let mut error = ErrorMessage::default();
        error.code = NonZeroI32::new(code);
        error.header = echoed;
        error
    }

    #[test]
    fn kernel_error_shows_extended_ack() {
        let error = error_message(-22, capped_echo_with_message("unknown chain type"));
        let error = KernelError::from_reply(NLM_F_CAPPED | NLM_F_ACK_TLVS, &error);
        assert_eq!(error.errno(), Errno::EINVAL);
        assert_eq!(error.message(), Some("unknown chain type"));
        assert_eq!(error.to_string(), "invalid argument (unknown chain type)");
    }

    #[test]
    fn kernel_error_without_attributes() {
        let error = error_message(-17, capped_echo_with_message("ignored without NLM_F_ACK_TLVS"));
        let error = KernelError::from_reply(NLM_F_CAPPED, &error);
        assert_eq!(error.message(), None);
        assert_eq!(error.to_string(), "file exists");
    }

    #[test]
    fn uncapped_echo_skips_whole_request() {
        // Without NLM_F_CAPPED the whole 40-byte request comes back before the attributes.
        let capped = capped_echo_with_message("from the kernel");
        let mut echoed = capped[..HEADER_LEN].to_vec();
        echoed.extend_from_slice(&[0xff; 40 - HEADER_LEN]);
        echoed.extend_from_slice(&capped[HEADER_LEN..]);
        let error = KernelError::from_reply(NLM_F_ACK_TLVS, &error_message(-1, echoed));
        assert_eq!(error.message(), Some("from the kernel"));
    }

    #[test]
    fn split_decodes_each_message() {
        // Two NLMSG_DONE messages of 20 bytes each, back to back.
        let mut datagram = Vec::new();
        for sequence in [7u32, 8] {
            datagram.extend_from_slice(&20u32.to_ne_bytes());
            datagram.extend_from_slice(&3u16.to_ne_bytes());
            datagram.extend_from_slice(&2u16.to_ne_bytes());
            datagram.extend_from_slice(&sequence.to_ne_bytes());
            datagram.extend_from_slice(&0u32.to_ne_bytes());
            datagram.extend_from_slice(&0i32.to_ne_bytes());
        }
        let messages = split::<RouteNetlinkMessage>(&datagram).unwrap();
        let sequences: Vec<u32> = messages.iter().map(|message| message.header.sequence_number).collect();
        assert_eq!(sequences, [7, 8]);
    }

    #[test]
    fn split_rejects_truncated_message() {
        let mut datagram = 40u32.to_ne_bytes().to_vec();
        datagram.extend_from_slice(&[0; 12]);
        assert!(split::<RouteNetlinkMessage>(&datagram).is_err());
    }
}
