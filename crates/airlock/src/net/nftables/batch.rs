//! A batch of nf_tables changes that the kernel applies as one transaction: all of them, or,
//! if any message fails, none.
//!
//! On the wire a batch is one datagram: a `NFNL_MSG_BATCH_BEGIN` message, the changes, and a
//! `NFNL_MSG_BATCH_END` message. Every change requests an ack, and its sequence number is its
//! position in the datagram, so an error reply names the change that caused it.

use super::attr::Attr;
use super::expr::Expr;
use super::table::{BaseChain, Table};
use super::uapi::*;
use super::NftError;
use crate::net::netlink::{KernelError, Socket};
use netlink_packet_core::{
    DecodeError, Emitable, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
    NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST,
};
use nix::errno::Errno;
use std::collections::HashMap;

/// Length of `struct nfgenmsg`, which follows the netlink header of every message.
const NFGENMSG_LEN: usize = 4;

/// Receive-buffer bytes to reserve per queued ack. An ack is 36 bytes, but the kernel counts
/// the memory of its whole socket buffer against the limit. On Linux 6.18, 512 bytes per ack
/// were enough for 30000 acks and 256 were not; this leaves a margin.
const ACK_BUFFER_BYTES: usize = 1024;

/// A list of changes to send to the kernel together.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    messages: Vec<Message>,
    /// Rules added so far per chain, to number them in error messages.
    rule_counts: HashMap<String, usize>,
}

/// A netfilter netlink socket in the namespace it was opened in, for several batches.
///
/// Closing one soon after a change waits for the kernel to free the replaced rules, which
/// takes an RCU grace period (about 15 ms): a caller in a hurry keeps the connection open
/// and closes it later.
pub struct Connection {
    socket: Socket,
}

impl Connection {
    pub fn open() -> Result<Connection, NftError> {
        Ok(Connection { socket: Socket::open(netlink_sys::protocols::NETLINK_NETFILTER).map_err(NftError::Socket)? })
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds `table` unless it exists; an existing table keeps its chains and rules. For a
    /// fresh table, add it, delete it and add it again in the same batch: the first add
    /// makes the delete succeed whether or not the table existed.
    pub fn add_table(&mut self, table: &Table) -> &mut Batch {
        let attributes = vec![Attr::string(NFTA_TABLE_NAME, &table.name)];
        self.push(NFT_MSG_NEWTABLE, NLM_F_CREATE, table, attributes, format!("add table {table}"))
    }

    /// Deletes `table` with its chains and rules. The batch fails with
    /// [`NftError::NotFound`] if the table does not exist.
    pub fn delete_table(&mut self, table: &Table) -> &mut Batch {
        let attributes = vec![Attr::string(NFTA_TABLE_NAME, &table.name)];
        self.push(NFT_MSG_DELTABLE, 0, table, attributes, format!("delete table {table}"))
    }

    /// Adds the chain `name` to `table`: a base chain when `base` is given, otherwise a
    /// regular chain that only `jump` verdicts reach.
    pub fn add_chain(&mut self, table: &Table, name: &str, base: Option<BaseChain>) -> &mut Batch {
        let mut attributes = vec![Attr::string(NFTA_CHAIN_TABLE, &table.name), Attr::string(NFTA_CHAIN_NAME, name)];
        if let Some(base) = base {
            let hook = vec![
                Attr::u32(NFTA_HOOK_HOOKNUM, base.hook.number()),
                // The priority is a signed 32-bit number sent as its two's complement.
                Attr::u32(NFTA_HOOK_PRIORITY, base.priority as u32),
            ];
            attributes.push(Attr::nest(NFTA_CHAIN_HOOK, hook));
            attributes.push(Attr::u32(NFTA_CHAIN_POLICY, base.policy.verdict()));
            attributes.push(Attr::string(NFTA_CHAIN_TYPE, base.chain_type.name()));
        }
        self.push(NFT_MSG_NEWCHAIN, NLM_F_CREATE, table, attributes, format!("add chain {name} to table {table}"))
    }

    /// Appends a rule to the chain `chain` of `table`.
    pub fn add_rule(&mut self, table: &Table, chain: &str, exprs: &[Expr]) -> &mut Batch {
        let count = self.rule_counts.entry(format!("{table} {chain}")).or_default();
        *count += 1;
        let operation = format!("add rule {count} to chain {chain} of table {table}");

        let expressions = exprs.iter().map(Expr::to_attr).collect();
        let attributes = vec![
            Attr::string(NFTA_RULE_TABLE, &table.name),
            Attr::string(NFTA_RULE_CHAIN, chain),
            Attr::nest(NFTA_RULE_EXPRESSIONS, expressions),
        ];
        self.push(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, table, attributes, operation)
    }

    fn push(&mut self, kind: u16, flags: u16, table: &Table, attributes: Vec<Attr>, operation: String) -> &mut Batch {
        self.messages.push(Message {
            message_type: (NFNL_SUBSYS_NFTABLES << 8) | kind,
            flags: NLM_F_REQUEST | NLM_F_ACK | flags,
            family: table.family.number(),
            resource_id: 0,
            attributes,
            operation,
        });
        self
    }

    /// Sends the batch through a netfilter netlink socket in the calling thread's network
    /// namespace and waits for the kernel to ack every change. On failure, nothing in the
    /// batch has been applied, and the error names the first change that the kernel rejected.
    pub fn send(&self) -> Result<(), NftError> {
        if self.messages.is_empty() {
            return Ok(());
        }
        self.send_on(&Connection::open()?)
    }

    /// Sends the batch as [`Batch::send`] does, through `connection`.
    pub fn send_on(&self, connection: &Connection) -> Result<(), NftError> {
        if self.messages.is_empty() {
            return Ok(());
        }
        tracing::debug!(changes = self.messages.len(), "sending an nf_tables batch");
        let socket = &connection.socket;
        let datagram = self.encode();
        // The kernel runs the whole batch inside the send call and queues every ack before
        // the call returns, so the receive buffer must fit them all. An ack that does not fit
        // is lost, and the batch would be applied while this function reports a failure.
        let replies = self.messages.len() * ACK_BUFFER_BYTES;
        socket.reserve_buffers(datagram.len(), replies).map_err(NftError::Socket)?;
        socket.send(&datagram).map_err(NftError::Send)?;

        let mut pending = self.messages.len();
        while pending > 0 {
            for reply in socket.receive::<NoReply>().map_err(NftError::Receive)? {
                let NetlinkPayload::Error(error) = reply.payload else {
                    continue;
                };
                // Only the changes request acks. Begin and end are numbered 0 and len + 1.
                let sequence = reply.header.sequence_number as usize;
                if error.code.is_none() {
                    if (1..=self.messages.len()).contains(&sequence) {
                        pending = pending.saturating_sub(1);
                    }
                    continue;
                }
                let operation = self.operation(sequence);
                let source = KernelError::from_reply(reply.header.flags, &error);
                if source.errno() == Errno::ENOENT {
                    return Err(NftError::NotFound { operation, source });
                }
                return Err(NftError::Rejected { operation, source });
            }
        }
        Ok(())
    }

    /// Returns the operation of the message with sequence number `sequence`. The begin and
    /// end messages are the whole batch.
    fn operation(&self, sequence: usize) -> String {
        match sequence.checked_sub(1).and_then(|index| self.messages.get(index)) {
            Some(message) => message.operation.clone(),
            None => "apply the nf_tables batch".to_owned(),
        }
    }

    /// Encodes the batch as one datagram, numbering its messages from 0.
    pub(super) fn encode(&self) -> Vec<u8> {
        let begin = Message::batch_control(NFNL_MSG_BATCH_BEGIN);
        let end = Message::batch_control(NFNL_MSG_BATCH_END);
        let messages = std::iter::once(&begin).chain(&self.messages).chain(std::iter::once(&end));

        let mut datagram = Vec::new();
        for (sequence, message) in messages.enumerate() {
            let mut header = NetlinkHeader::default();
            header.flags = message.flags;
            header.sequence_number = sequence as u32;
            let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message.clone()));
            packet.finalize();
            let start = datagram.len();
            datagram.resize(start + packet.buffer_len(), 0);
            packet.serialize(&mut datagram[start..]);
        }
        datagram
    }
}

/// One nfnetlink message, and the operation it performs, for error messages.
#[derive(Debug, Clone)]
struct Message {
    message_type: u16,
    flags: u16,
    family: u8,
    resource_id: u16,
    attributes: Vec<Attr>,
    operation: String,
}

impl Message {
    /// Builds a batch's begin or end message. Its resource id names the batch's subsystem.
    fn batch_control(message_type: u16) -> Message {
        Message {
            message_type,
            flags: NLM_F_REQUEST,
            family: libc::AF_UNSPEC as u8,
            resource_id: NFNL_SUBSYS_NFTABLES,
            attributes: Vec::new(),
            operation: String::new(),
        }
    }
}

impl NetlinkSerializable for Message {
    fn message_type(&self) -> u16 {
        self.message_type
    }

    fn buffer_len(&self) -> usize {
        NFGENMSG_LEN + self.attributes.as_slice().buffer_len()
    }

    /// Writes `struct nfgenmsg` (family, version, big-endian resource id), then the attributes.
    fn serialize(&self, buffer: &mut [u8]) {
        buffer[0] = self.family;
        buffer[1] = NFNETLINK_V0;
        buffer[2..4].copy_from_slice(&self.resource_id.to_be_bytes());
        self.attributes.as_slice().emit(&mut buffer[NFGENMSG_LEN..]);
    }
}

/// The reply type for a batch. The kernel replies with acks and errors only, which
/// netlink-packet-core decodes itself, so any other reply fails to decode through this type.
enum NoReply {}

impl NetlinkDeserializable for NoReply {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, _payload: &[u8]) -> Result<NoReply, DecodeError> {
        Err(DecodeError::from(format!(
            "unexpected reply of message type {:#x} to an nf_tables batch",
            header.message_type
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::matches;
    use super::super::statements;
    use super::super::table::{Family, Hook};
    use super::*;
    use netlink_packet_core::{NetlinkBuffer, NlasIterator};

    /// One encoded message, split into its fields.
    struct Encoded {
        kind: u16,
        flags: u16,
        sequence: u32,
        nfgenmsg: [u8; 4],
        attributes: Vec<(u16, Vec<u8>)>,
    }

    fn attributes(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
        NlasIterator::new(bytes).map(|attribute| attribute.unwrap()).map(|a| (a.kind(), a.value().to_vec())).collect()
    }

    fn messages(datagram: &[u8]) -> Vec<Encoded> {
        let mut messages = Vec::new();
        let mut rest = datagram;
        while !rest.is_empty() {
            let buffer = NetlinkBuffer::new_checked(rest).unwrap();
            let payload = buffer.payload();
            messages.push(Encoded {
                kind: buffer.message_type(),
                flags: buffer.flags(),
                sequence: buffer.sequence_number(),
                nfgenmsg: payload[..4].try_into().unwrap(),
                attributes: attributes(&payload[4..]),
            });
            rest = &rest[buffer.length() as usize..];
        }
        messages
    }

    fn sample_batch() -> Batch {
        let table = Table::new(Family::Inet, "airlock-test");
        let mut batch = Batch::new();
        batch.add_table(&table);
        batch.add_chain(&table, "forward", Some(BaseChain::filter(Hook::Forward, 0)));
        batch.add_rule(&table, "forward", &[matches::oifname("al-test").unwrap(), statements::accept()].concat());
        batch
    }

    #[test]
    fn batch_is_framed_by_begin_and_end() {
        let encoded = messages(&sample_batch().encode());
        assert_eq!(encoded.len(), 5);

        let begin = &encoded[0];
        assert_eq!((begin.kind, begin.flags, begin.sequence), (NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0));
        // AF_UNSPEC, version 0, resource id NFNL_SUBSYS_NFTABLES in network byte order.
        assert_eq!(begin.nfgenmsg, [0, 0, 0, 10]);
        assert!(begin.attributes.is_empty());

        let end = &encoded[4];
        assert_eq!((end.kind, end.flags, end.sequence), (NFNL_MSG_BATCH_END, NLM_F_REQUEST, 4));
        assert_eq!(end.nfgenmsg, [0, 0, 0, 10]);
    }

    #[test]
    fn changes_ask_for_acks_in_order() {
        let encoded = messages(&sample_batch().encode());
        let expected = [
            ((10 << 8) | NFT_MSG_NEWTABLE, NLM_F_CREATE),
            ((10 << 8) | NFT_MSG_NEWCHAIN, NLM_F_CREATE),
            ((10 << 8) | NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND),
        ];
        for (index, (kind, extra_flags)) in expected.into_iter().enumerate() {
            let message = &encoded[index + 1];
            assert_eq!(message.kind, kind, "type of message {}", index + 1);
            assert_eq!(message.flags, NLM_F_REQUEST | NLM_F_ACK | extra_flags, "flags of message {}", index + 1);
            assert_eq!(message.sequence, index as u32 + 1);
            assert_eq!(message.nfgenmsg, [NFPROTO_INET, 0, 0, 0]);
        }
        assert_eq!(encoded[1].attributes, [(NFTA_TABLE_NAME, b"airlock-test\0".to_vec())]);
    }

    #[test]
    fn base_chain_carries_hook_policy_and_type() {
        let table = Table::new(Family::Ip6, "t");
        let mut batch = Batch::new();
        batch.add_chain(&table, "pre", Some(BaseChain::nat(Hook::Prerouting, -100)));
        let chain = &messages(&batch.encode())[1];
        assert_eq!(chain.nfgenmsg[0], NFPROTO_IPV6);

        let fields = &chain.attributes;
        assert_eq!(fields[0], (NFTA_CHAIN_TABLE, b"t\0".to_vec()));
        assert_eq!(fields[1], (NFTA_CHAIN_NAME, b"pre\0".to_vec()));
        assert_eq!(fields[2].0, NFTA_CHAIN_HOOK);
        let hook = attributes(&fields[2].1);
        assert_eq!(
            hook,
            [(NFTA_HOOK_HOOKNUM, vec![0, 0, 0, 0]), (NFTA_HOOK_PRIORITY, (-100i32).to_be_bytes().to_vec())]
        );
        assert_eq!(fields[3], (NFTA_CHAIN_POLICY, vec![0, 0, 0, 1]));
        assert_eq!(fields[4], (NFTA_CHAIN_TYPE, b"nat\0".to_vec()));
    }

    #[test]
    fn regular_chain_has_no_hook() {
        let table = Table::new(Family::Inet, "t");
        let mut batch = Batch::new();
        batch.add_chain(&table, "egress", None);
        let chain = &messages(&batch.encode())[1];
        let kinds: Vec<u16> = chain.attributes.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, [NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME]);
    }

    #[test]
    fn operations_name_rules_by_chain_position() {
        let table = Table::new(Family::Inet, "airlock-test");
        let mut batch = Batch::new();
        batch.add_table(&table);
        batch.add_rule(&table, "forward", &statements::accept());
        batch.add_rule(&table, "output", &statements::accept());
        batch.add_rule(&table, "forward", &statements::drop());
        assert_eq!(batch.operation(1), "add table inet airlock-test");
        assert_eq!(batch.operation(2), "add rule 1 to chain forward of table inet airlock-test");
        assert_eq!(batch.operation(3), "add rule 1 to chain output of table inet airlock-test");
        assert_eq!(batch.operation(4), "add rule 2 to chain forward of table inet airlock-test");
        assert_eq!(batch.operation(0), "apply the nf_tables batch");
        assert_eq!(batch.operation(5), "apply the nf_tables batch");
    }
}
