//! The kernel's nf_tables interface numbers, from the Linux uapi headers named above each
//! group. Values never change once a kernel ships them; the unit test below checks the ones
//! that the `libc` crate also defines.

// linux/netfilter/nfnetlink.h
pub(super) const NFNETLINK_V0: u8 = 0;
pub(super) const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub(super) const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
pub(super) const NFNL_MSG_BATCH_END: u16 = 0x11;

// linux/netfilter.h
pub(super) const NF_DROP: u32 = 0;
pub(super) const NF_ACCEPT: u32 = 1;
pub(super) const NFPROTO_INET: u8 = 1;
pub(super) const NFPROTO_IPV4: u8 = 2;
pub(super) const NFPROTO_IPV6: u8 = 10;
pub(super) const NF_INET_PRE_ROUTING: u32 = 0;
pub(super) const NF_INET_LOCAL_IN: u32 = 1;
pub(super) const NF_INET_FORWARD: u32 = 2;
pub(super) const NF_INET_LOCAL_OUT: u32 = 3;
pub(super) const NF_INET_POST_ROUTING: u32 = 4;

// linux/netfilter/nf_conntrack_common.h: `NF_CT_STATE_BIT(ctinfo)` is `1 << (ctinfo + 1)`
// for IP_CT_ESTABLISHED (0), IP_CT_RELATED (1) and IP_CT_NEW (2).
pub(super) const NF_CT_STATE_INVALID_BIT: u32 = 1 << 0;
pub(super) const NF_CT_STATE_ESTABLISHED_BIT: u32 = 1 << 1;
pub(super) const NF_CT_STATE_RELATED_BIT: u32 = 1 << 2;
pub(super) const NF_CT_STATE_NEW_BIT: u32 = 1 << 3;
pub(super) const IPS_DST_NAT: u32 = 1 << 5;

// linux/rtnetlink.h
pub(super) const RTN_LOCAL: u32 = 2;

// linux/netfilter/nf_tables.h: registers and verdicts
pub(super) const NFT_REG_VERDICT: u32 = 0;
pub(super) const NFT_REG_1: u32 = 1;
pub(super) const NFT_REG_2: u32 = 2;
pub(super) const NFT_JUMP: i32 = -3;

// linux/netfilter/nf_tables.h: enum nf_tables_msg_types
pub(super) const NFT_MSG_NEWTABLE: u16 = 0;
pub(super) const NFT_MSG_DELTABLE: u16 = 2;
pub(super) const NFT_MSG_NEWCHAIN: u16 = 3;
pub(super) const NFT_MSG_NEWRULE: u16 = 6;

// linux/netfilter/nf_tables.h: attributes of tables, chains, hooks, rules and lists
pub(super) const NFTA_LIST_ELEM: u16 = 1;
pub(super) const NFTA_HOOK_HOOKNUM: u16 = 1;
pub(super) const NFTA_HOOK_PRIORITY: u16 = 2;
pub(super) const NFTA_TABLE_NAME: u16 = 1;
pub(super) const NFTA_CHAIN_TABLE: u16 = 1;
pub(super) const NFTA_CHAIN_NAME: u16 = 3;
pub(super) const NFTA_CHAIN_HOOK: u16 = 4;
pub(super) const NFTA_CHAIN_POLICY: u16 = 5;
pub(super) const NFTA_CHAIN_TYPE: u16 = 7;
pub(super) const NFTA_RULE_TABLE: u16 = 1;
pub(super) const NFTA_RULE_CHAIN: u16 = 2;
pub(super) const NFTA_RULE_EXPRESSIONS: u16 = 4;

// linux/netfilter/nf_tables.h: data and verdicts
pub(super) const NFTA_DATA_VALUE: u16 = 1;
pub(super) const NFTA_DATA_VERDICT: u16 = 2;
pub(super) const NFTA_VERDICT_CODE: u16 = 1;
pub(super) const NFTA_VERDICT_CHAIN: u16 = 2;

// linux/netfilter/nf_tables.h: expressions
pub(super) const NFTA_EXPR_NAME: u16 = 1;
pub(super) const NFTA_EXPR_DATA: u16 = 2;

pub(super) const NFTA_IMMEDIATE_DREG: u16 = 1;
pub(super) const NFTA_IMMEDIATE_DATA: u16 = 2;

pub(super) const NFTA_BITWISE_SREG: u16 = 1;
pub(super) const NFTA_BITWISE_DREG: u16 = 2;
pub(super) const NFTA_BITWISE_LEN: u16 = 3;
pub(super) const NFTA_BITWISE_MASK: u16 = 4;
pub(super) const NFTA_BITWISE_XOR: u16 = 5;

pub(super) const NFT_CMP_EQ: u32 = 0;
pub(super) const NFT_CMP_NEQ: u32 = 1;
pub(super) const NFT_CMP_LT: u32 = 2;
pub(super) const NFT_CMP_LTE: u32 = 3;
pub(super) const NFT_CMP_GT: u32 = 4;
pub(super) const NFT_CMP_GTE: u32 = 5;
pub(super) const NFTA_CMP_SREG: u16 = 1;
pub(super) const NFTA_CMP_OP: u16 = 2;
pub(super) const NFTA_CMP_DATA: u16 = 3;

pub(super) const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
pub(super) const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
pub(super) const NFTA_PAYLOAD_DREG: u16 = 1;
pub(super) const NFTA_PAYLOAD_BASE: u16 = 2;
pub(super) const NFTA_PAYLOAD_OFFSET: u16 = 3;
pub(super) const NFTA_PAYLOAD_LEN: u16 = 4;

pub(super) const NFT_META_IIFNAME: u32 = 6;
pub(super) const NFT_META_OIFNAME: u32 = 7;
pub(super) const NFT_META_NFPROTO: u32 = 15;
pub(super) const NFT_META_L4PROTO: u32 = 16;
pub(super) const NFTA_META_DREG: u16 = 1;
pub(super) const NFTA_META_KEY: u16 = 2;

pub(super) const NFT_CT_STATE: u32 = 0;
pub(super) const NFT_CT_STATUS: u32 = 2;
pub(super) const NFTA_CT_DREG: u16 = 1;
pub(super) const NFTA_CT_KEY: u16 = 2;

pub(super) const NFT_NAT_DNAT: u32 = 1;
pub(super) const NFTA_NAT_TYPE: u16 = 1;
pub(super) const NFTA_NAT_FAMILY: u16 = 2;
pub(super) const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
pub(super) const NFTA_NAT_REG_PROTO_MIN: u16 = 5;

pub(super) const NFT_FIB_RESULT_ADDRTYPE: u32 = 3;
pub(super) const NFTA_FIB_F_DADDR: u32 = 1 << 1;
pub(super) const NFTA_FIB_DREG: u16 = 1;
pub(super) const NFTA_FIB_RESULT: u16 = 2;
pub(super) const NFTA_FIB_FLAGS: u16 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    /// `libc` transcribes part of the same headers; a value that differs from its copy was
    /// mistyped in one of the two.
    #[test]
    fn values_agree_with_libc() {
        let pairs: &[(&str, i64, i64)] = &[
            ("NFNETLINK_V0", NFNETLINK_V0.into(), libc::NFNETLINK_V0.into()),
            ("NFNL_SUBSYS_NFTABLES", NFNL_SUBSYS_NFTABLES.into(), libc::NFNL_SUBSYS_NFTABLES.into()),
            ("NFNL_MSG_BATCH_BEGIN", NFNL_MSG_BATCH_BEGIN.into(), libc::NFNL_MSG_BATCH_BEGIN.into()),
            ("NFNL_MSG_BATCH_END", NFNL_MSG_BATCH_END.into(), libc::NFNL_MSG_BATCH_END.into()),
            ("NF_DROP", NF_DROP.into(), libc::NF_DROP.into()),
            ("NF_ACCEPT", NF_ACCEPT.into(), libc::NF_ACCEPT.into()),
            ("NFPROTO_INET", NFPROTO_INET.into(), libc::NFPROTO_INET.into()),
            ("NFPROTO_IPV4", NFPROTO_IPV4.into(), libc::NFPROTO_IPV4.into()),
            ("NFPROTO_IPV6", NFPROTO_IPV6.into(), libc::NFPROTO_IPV6.into()),
            ("NF_INET_PRE_ROUTING", NF_INET_PRE_ROUTING.into(), libc::NF_INET_PRE_ROUTING.into()),
            ("NF_INET_LOCAL_IN", NF_INET_LOCAL_IN.into(), libc::NF_INET_LOCAL_IN.into()),
            ("NF_INET_FORWARD", NF_INET_FORWARD.into(), libc::NF_INET_FORWARD.into()),
            ("NF_INET_LOCAL_OUT", NF_INET_LOCAL_OUT.into(), libc::NF_INET_LOCAL_OUT.into()),
            ("NF_INET_POST_ROUTING", NF_INET_POST_ROUTING.into(), libc::NF_INET_POST_ROUTING.into()),
            ("RTN_LOCAL", RTN_LOCAL.into(), libc::RTN_LOCAL.into()),
            ("NFT_REG_VERDICT", NFT_REG_VERDICT.into(), libc::NFT_REG_VERDICT.into()),
            ("NFT_REG_1", NFT_REG_1.into(), libc::NFT_REG_1.into()),
            ("NFT_REG_2", NFT_REG_2.into(), libc::NFT_REG_2.into()),
            ("NFT_JUMP", NFT_JUMP.into(), libc::NFT_JUMP.into()),
            ("NFT_MSG_NEWTABLE", NFT_MSG_NEWTABLE.into(), libc::NFT_MSG_NEWTABLE.into()),
            ("NFT_MSG_DELTABLE", NFT_MSG_DELTABLE.into(), libc::NFT_MSG_DELTABLE.into()),
            ("NFT_MSG_NEWCHAIN", NFT_MSG_NEWCHAIN.into(), libc::NFT_MSG_NEWCHAIN.into()),
            ("NFT_MSG_NEWRULE", NFT_MSG_NEWRULE.into(), libc::NFT_MSG_NEWRULE.into()),
            ("NFT_CMP_EQ", NFT_CMP_EQ.into(), libc::NFT_CMP_EQ.into()),
            ("NFT_CMP_NEQ", NFT_CMP_NEQ.into(), libc::NFT_CMP_NEQ.into()),
            ("NFT_CMP_LT", NFT_CMP_LT.into(), libc::NFT_CMP_LT.into()),
            ("NFT_CMP_LTE", NFT_CMP_LTE.into(), libc::NFT_CMP_LTE.into()),
            ("NFT_CMP_GT", NFT_CMP_GT.into(), libc::NFT_CMP_GT.into()),
            ("NFT_CMP_GTE", NFT_CMP_GTE.into(), libc::NFT_CMP_GTE.into()),
            ("NFT_PAYLOAD_NETWORK_HEADER", NFT_PAYLOAD_NETWORK_HEADER.into(), libc::NFT_PAYLOAD_NETWORK_HEADER.into()),
            (
                "NFT_PAYLOAD_TRANSPORT_HEADER",
                NFT_PAYLOAD_TRANSPORT_HEADER.into(),
                libc::NFT_PAYLOAD_TRANSPORT_HEADER.into(),
            ),
            ("NFT_META_IIFNAME", NFT_META_IIFNAME.into(), libc::NFT_META_IIFNAME.into()),
            ("NFT_META_OIFNAME", NFT_META_OIFNAME.into(), libc::NFT_META_OIFNAME.into()),
            ("NFT_META_NFPROTO", NFT_META_NFPROTO.into(), libc::NFT_META_NFPROTO.into()),
            ("NFT_META_L4PROTO", NFT_META_L4PROTO.into(), libc::NFT_META_L4PROTO.into()),
            ("NFT_CT_STATE", NFT_CT_STATE.into(), libc::NFT_CT_STATE.into()),
            ("NFT_CT_STATUS", NFT_CT_STATUS.into(), libc::NFT_CT_STATUS.into()),
            ("NFT_NAT_DNAT", NFT_NAT_DNAT.into(), libc::NFT_NAT_DNAT.into()),
        ];
        for (name, ours, theirs) in pairs {
            assert_eq!(ours, theirs, "{name}");
        }
    }
}
