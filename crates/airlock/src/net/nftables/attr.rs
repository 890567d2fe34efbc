//! The attribute tree of an nf_tables message. netlink-packet-core lays out headers,
//! lengths and padding through its `Nla` trait, so this type only describes the tree.

use netlink_packet_core::{Emitable, Nla, NLA_F_NESTED};

/// One netlink attribute: a value, or a nest of further attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Attr {
    Value { kind: u16, bytes: Vec<u8> },
    Nest { kind: u16, children: Vec<Attr> },
}

impl Attr {
    /// Builds a 32-bit number in network byte order, the order nf_tables reads `NLA_U32`s in.
    pub(super) fn u32(kind: u16, value: u32) -> Attr {
        Attr::bytes(kind, value.to_be_bytes().to_vec())
    }

    /// Builds a NUL-terminated string.
    pub(super) fn string(kind: u16, value: &str) -> Attr {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        Attr::bytes(kind, bytes)
    }

    pub(super) fn bytes(kind: u16, bytes: Vec<u8>) -> Attr {
        Attr::Value { kind, bytes }
    }

    pub(super) fn nest(kind: u16, children: Vec<Attr>) -> Attr {
        Attr::Nest { kind, children }
    }
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match self {
            Attr::Value { bytes, .. } => bytes.len(),
            Attr::Nest { children, .. } => children.as_slice().buffer_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Attr::Value { kind, .. } => *kind,
            Attr::Nest { kind, .. } => kind | NLA_F_NESTED,
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Attr::Value { bytes, .. } => buffer.copy_from_slice(bytes),
            Attr::Nest { children, .. } => children.as_slice().emit(buffer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(attributes: &[Attr]) -> Vec<u8> {
        let mut buffer = vec![0; attributes.buffer_len()];
        attributes.emit(&mut buffer);
        buffer
    }

    #[test]
    fn value_is_padded_to_four_bytes() {
        // Length 4 + 3 ("al" and NUL), type 1, then one byte of padding.
        let bytes = encode(&[Attr::string(1, "al")]);
        assert_eq!(bytes, [7, 0, 1, 0, b'a', b'l', 0, 0]);
    }

    #[test]
    fn u32_is_big_endian() {
        let bytes = encode(&[Attr::u32(2, 0x0102_0304)]);
        assert_eq!(bytes, [8, 0, 2, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn nest_sets_nested_flag_and_covers_children() {
        let bytes = encode(&[Attr::nest(4, vec![Attr::u32(1, 7), Attr::string(2, "x")])]);
        // NLA_F_NESTED is bit 15 of the type; the nest's length covers both children.
        assert_eq!(bytes[..4], [4 + 8 + 8, 0, 4, 0x80]);
        assert_eq!(bytes[4..12], [8, 0, 1, 0, 0, 0, 0, 7]);
        assert_eq!(bytes[12..], [6, 0, 2, 0, b'x', 0, 0, 0]);
    }
}
