//! nf_tables expressions, the steps a rule runs on each packet: load data into a register,
//! compare it, and end with a verdict or a NAT statement. A comparison that fails ends the
//! rule, so a rule is a list of expressions that all must hold before its last one acts.

use super::attr::Attr;
use super::uapi::*;

/// A 16-byte data register. A value longer than 16 bytes continues into the next register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    One,
    Two,
}

impl Register {
    fn number(self) -> u32 {
        match self {
            Register::One => NFT_REG_1,
            Register::Two => NFT_REG_2,
        }
    }
}

/// Packet metadata that a `meta` expression loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// The input interface's name, 16 bytes padded with NULs.
    IifName,
    /// The output interface's name, 16 bytes padded with NULs.
    OifName,
    /// The layer 3 protocol as one `NFPROTO_*` byte (2 for IPv4, 10 for IPv6).
    NfProto,
    /// The layer 4 protocol as one `IPPROTO_*` byte.
    L4Proto,
}

/// The operator of a `cmp` expression. The kernel compares bytes in order, as `memcmp`
/// does, so the order operators are right for big-endian numbers such as ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
}

/// The header that a `payload` expression's offset starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadBase {
    Network,
    Transport,
}

/// Connection-tracking data that a `ct` expression loads, as a 32-bit host-order bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtKey {
    /// `NF_CT_STATE_*_BIT` bits: new, established, related, invalid.
    State,
    /// `IPS_*` bits, such as `IPS_DST_NAT` for connections whose destination was rewritten.
    Status,
}

/// The decision about a packet that ends a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    /// Continue in the named regular chain of the same table, then return here.
    Jump(String),
}

/// The address family of a NAT statement's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatFamily {
    Ipv4,
    Ipv6,
}

/// One step of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Loads packet metadata into `dest` (`meta`).
    Meta { key: MetaKey, dest: Register },
    /// Compares `source` with `data`, over `data.len()` bytes (`cmp`).
    Cmp { op: CmpOp, source: Register, data: Vec<u8> },
    /// Loads `len` bytes at `offset` from the start of a header into `dest` (`payload`).
    Payload { base: PayloadBase, offset: u32, len: u32, dest: Register },
    /// Stores `source & mask` in `dest`, over `mask.len()` bytes (`bitwise`).
    Bitwise { source: Register, dest: Register, mask: Vec<u8> },
    /// Loads connection-tracking data into `dest` (`ct`).
    Ct { key: CtKey, dest: Register },
    /// Loads a constant into `dest` (`immediate`).
    Immediate { dest: Register, data: Vec<u8> },
    /// Ends the rule with a verdict (`immediate` into the verdict register).
    Verdict(Verdict),
    /// Rewrites the destination address to the one in `address` and, when given, the
    /// destination port to the big-endian 16-bit value in `port` (`nat`).
    Dnat { family: NatFamily, address: Register, port: Option<Register> },
    /// Rewrites the source address to the output interface's primary address (`masq`).
    Masquerade,
    /// Loads the type of the packet's destination address, as a route lookup finds it, into
    /// `dest` as a 32-bit host-order `RTN_*` value such as `RTN_LOCAL` (`fib daddr type`).
    FibDaddrType { dest: Register },
}

impl Expr {
    /// Encodes the expression as one element of a rule's `NFTA_RULE_EXPRESSIONS` list.
    pub(super) fn to_attr(&self) -> Attr {
        let (name, data) = self.name_and_data();
        let mut children = vec![Attr::string(NFTA_EXPR_NAME, name)];
        if !data.is_empty() {
            children.push(Attr::nest(NFTA_EXPR_DATA, data));
        }
        Attr::nest(NFTA_LIST_ELEM, children)
    }

    fn name_and_data(&self) -> (&'static str, Vec<Attr>) {
        match self {
            Expr::Meta { key, dest } => {
                let key = match key {
                    MetaKey::IifName => NFT_META_IIFNAME,
                    MetaKey::OifName => NFT_META_OIFNAME,
                    MetaKey::NfProto => NFT_META_NFPROTO,
                    MetaKey::L4Proto => NFT_META_L4PROTO,
                };
                ("meta", vec![Attr::u32(NFTA_META_DREG, dest.number()), Attr::u32(NFTA_META_KEY, key)])
            }
            Expr::Cmp { op, source, data } => {
                let op = match op {
                    CmpOp::Eq => NFT_CMP_EQ,
                    CmpOp::Neq => NFT_CMP_NEQ,
                    CmpOp::Lt => NFT_CMP_LT,
                    CmpOp::Lte => NFT_CMP_LTE,
                    CmpOp::Gt => NFT_CMP_GT,
                    CmpOp::Gte => NFT_CMP_GTE,
                };
                let attributes = vec![
                    Attr::u32(NFTA_CMP_SREG, source.number()),
                    Attr::u32(NFTA_CMP_OP, op),
                    value(NFTA_CMP_DATA, data),
                ];
                ("cmp", attributes)
            }
            Expr::Payload { base, offset, len, dest } => {
                let base = match base {
                    PayloadBase::Network => NFT_PAYLOAD_NETWORK_HEADER,
                    PayloadBase::Transport => NFT_PAYLOAD_TRANSPORT_HEADER,
                };
                let attributes = vec![
                    Attr::u32(NFTA_PAYLOAD_DREG, dest.number()),
                    Attr::u32(NFTA_PAYLOAD_BASE, base),
                    Attr::u32(NFTA_PAYLOAD_OFFSET, *offset),
                    Attr::u32(NFTA_PAYLOAD_LEN, *len),
                ];
                ("payload", attributes)
            }
            Expr::Bitwise { source, dest, mask } => {
                // The kernel computes (source & mask) ^ xor and requires both operands.
                let attributes = vec![
                    Attr::u32(NFTA_BITWISE_SREG, source.number()),
                    Attr::u32(NFTA_BITWISE_DREG, dest.number()),
                    Attr::u32(NFTA_BITWISE_LEN, mask.len() as u32),
                    value(NFTA_BITWISE_MASK, mask),
                    value(NFTA_BITWISE_XOR, &vec![0; mask.len()]),
                ];
                ("bitwise", attributes)
            }
            Expr::Ct { key, dest } => {
                let key = match key {
                    CtKey::State => NFT_CT_STATE,
                    CtKey::Status => NFT_CT_STATUS,
                };
                ("ct", vec![Attr::u32(NFTA_CT_DREG, dest.number()), Attr::u32(NFTA_CT_KEY, key)])
            }
            Expr::Immediate { dest, data } => {
                ("immediate", vec![Attr::u32(NFTA_IMMEDIATE_DREG, dest.number()), value(NFTA_IMMEDIATE_DATA, data)])
            }
            Expr::Verdict(verdict) => {
                let verdict = Attr::nest(NFTA_DATA_VERDICT, verdict_attributes(verdict));
                let attributes = vec![
                    Attr::u32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT),
                    Attr::nest(NFTA_IMMEDIATE_DATA, vec![verdict]),
                ];
                ("immediate", attributes)
            }
            Expr::Dnat { family, address, port } => {
                let family = match family {
                    NatFamily::Ipv4 => NFPROTO_IPV4,
                    NatFamily::Ipv6 => NFPROTO_IPV6,
                };
                // The kernel takes the register attributes as the ranges' minimums and uses
                // each as its maximum too, so one address and one port need nothing more.
                let mut attributes = vec![
                    Attr::u32(NFTA_NAT_TYPE, NFT_NAT_DNAT),
                    Attr::u32(NFTA_NAT_FAMILY, family.into()),
                    Attr::u32(NFTA_NAT_REG_ADDR_MIN, address.number()),
                ];
                if let Some(port) = port {
                    attributes.push(Attr::u32(NFTA_NAT_REG_PROTO_MIN, port.number()));
                }
                ("nat", attributes)
            }
            Expr::Masquerade => ("masq", Vec::new()),
            Expr::FibDaddrType { dest } => {
                let attributes = vec![
                    Attr::u32(NFTA_FIB_DREG, dest.number()),
                    Attr::u32(NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE),
                    Attr::u32(NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR),
                ];
                ("fib", attributes)
            }
        }
    }
}

/// Wraps constant bytes as `NFTA_DATA_VALUE` inside the attribute `kind`.
fn value(kind: u16, data: &[u8]) -> Attr {
    Attr::nest(kind, vec![Attr::bytes(NFTA_DATA_VALUE, data.to_vec())])
}

fn verdict_attributes(verdict: &Verdict) -> Vec<Attr> {
    match verdict {
        Verdict::Accept => vec![Attr::u32(NFTA_VERDICT_CODE, NF_ACCEPT)],
        Verdict::Drop => vec![Attr::u32(NFTA_VERDICT_CODE, NF_DROP)],
        Verdict::Jump(chain) => vec![
            // The code is a negative `int` sent as its 32-bit two's complement.
            Attr::u32(NFTA_VERDICT_CODE, NFT_JUMP as u32),
            Attr::string(NFTA_VERDICT_CHAIN, chain),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{Emitable, NlasIterator, NLA_F_NESTED};

    /// Splits a list of attributes into `(type, value)` pairs, keeping the nested flag in the type.
    fn attributes(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut attributes = Vec::new();
        for attribute in NlasIterator::new(bytes) {
            let attribute = attribute.unwrap();
            let kind = attribute.kind() | if attribute.nested_flag() { NLA_F_NESTED } else { 0 };
            attributes.push((kind, attribute.value().to_vec()));
        }
        attributes
    }

    /// Returns the expression's name and the `(type, value)` pairs inside its `NFTA_EXPR_DATA`.
    fn decode(expr: &Expr) -> (String, Vec<(u16, Vec<u8>)>) {
        let attr = expr.to_attr();
        let mut bytes = vec![0; attr.buffer_len()];
        attr.emit(&mut bytes);

        let element = attributes(&bytes);
        assert_eq!(element.len(), 1);
        assert_eq!(element[0].0, NFTA_LIST_ELEM | NLA_F_NESTED);
        let parts = attributes(&element[0].1);
        assert_eq!(parts[0].0, NFTA_EXPR_NAME);
        let name = String::from_utf8(parts[0].1.strip_suffix(&[0]).unwrap().to_vec()).unwrap();
        let data = match parts.get(1) {
            Some((kind, data)) => {
                assert_eq!(*kind, NFTA_EXPR_DATA | NLA_F_NESTED);
                attributes(data)
            }
            None => Vec::new(),
        };
        (name, data)
    }

    #[test]
    fn masquerade_has_no_data() {
        assert_eq!(decode(&Expr::Masquerade), ("masq".to_owned(), Vec::new()));
    }

    #[test]
    fn meta_encodes_register_and_key() {
        let (name, data) = decode(&Expr::Meta { key: MetaKey::OifName, dest: Register::One });
        assert_eq!(name, "meta");
        assert_eq!(data, [(NFTA_META_DREG, vec![0, 0, 0, 1]), (NFTA_META_KEY, vec![0, 0, 0, 7])]);
    }

    #[test]
    fn cmp_wraps_data_in_data_value() {
        let (name, data) = decode(&Expr::Cmp { op: CmpOp::Gte, source: Register::One, data: vec![0x1f, 0x90] });
        assert_eq!(name, "cmp");
        assert_eq!(data[0], (NFTA_CMP_SREG, vec![0, 0, 0, 1]));
        assert_eq!(data[1], (NFTA_CMP_OP, vec![0, 0, 0, 5]));
        assert_eq!(data[2].0, NFTA_CMP_DATA | NLA_F_NESTED);
        assert_eq!(attributes(&data[2].1), [(NFTA_DATA_VALUE, vec![0x1f, 0x90])]);
    }

    #[test]
    fn bitwise_sends_zero_xor() {
        let (name, data) =
            decode(&Expr::Bitwise { source: Register::One, dest: Register::One, mask: vec![0xff, 0xf0, 0, 0] });
        assert_eq!(name, "bitwise");
        assert_eq!(data[2], (NFTA_BITWISE_LEN, vec![0, 0, 0, 4]));
        assert_eq!(attributes(&data[3].1), [(NFTA_DATA_VALUE, vec![0xff, 0xf0, 0, 0])]);
        assert_eq!(attributes(&data[4].1), [(NFTA_DATA_VALUE, vec![0, 0, 0, 0])]);
    }

    #[test]
    fn jump_verdict_carries_chain() {
        let (name, data) = decode(&Expr::Verdict(Verdict::Jump("egress".into())));
        assert_eq!(name, "immediate");
        assert_eq!(data[0], (NFTA_IMMEDIATE_DREG, vec![0, 0, 0, 0]));
        let immediate_data = attributes(&data[1].1);
        assert_eq!(immediate_data[0].0, NFTA_DATA_VERDICT | NLA_F_NESTED);
        let verdict = attributes(&immediate_data[0].1);
        assert_eq!(verdict[0], (NFTA_VERDICT_CODE, (-3i32).to_be_bytes().to_vec()));
        assert_eq!(verdict[1], (NFTA_VERDICT_CHAIN, b"egress\0".to_vec()));
    }

    #[test]
    fn dnat_without_port_omits_proto_register() {
        let (_, with_port) =
            decode(&Expr::Dnat { family: NatFamily::Ipv6, address: Register::One, port: Some(Register::Two) });
        assert_eq!(with_port[1], (NFTA_NAT_FAMILY, vec![0, 0, 0, 10]));
        assert_eq!(with_port.last(), Some(&(NFTA_NAT_REG_PROTO_MIN, vec![0, 0, 0, 2])));

        let (_, without_port) = decode(&Expr::Dnat { family: NatFamily::Ipv4, address: Register::One, port: None });
        assert_eq!(without_port.len(), 3);
        assert_eq!(without_port.last(), Some(&(NFTA_NAT_REG_ADDR_MIN, vec![0, 0, 0, 1])));
    }

    #[test]
    fn fib_asks_for_destination_type() {
        let (name, data) = decode(&Expr::FibDaddrType { dest: Register::One });
        assert_eq!(name, "fib");
        assert_eq!(data[1], (NFTA_FIB_RESULT, vec![0, 0, 0, 3]));
        assert_eq!(data[2], (NFTA_FIB_FLAGS, vec![0, 0, 0, 2]));
    }
}
