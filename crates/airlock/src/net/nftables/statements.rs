//! Expression lists for the statements that end airlock's rules, named after their nft
//! syntax: `statements::dnat(address, 80)` is `dnat ip to ADDRESS:80`.

use super::expr::{Expr, NatFamily, Register, Verdict};
use crate::net::cidr::address_bytes;
use std::net::IpAddr;

/// `accept`.
pub fn accept() -> Vec<Expr> {
    vec![Expr::Verdict(Verdict::Accept)]
}

/// `drop`.
pub fn drop() -> Vec<Expr> {
    vec![Expr::Verdict(Verdict::Drop)]
}

/// `jump CHAIN`: continue in the regular chain `chain` of the same table.
pub fn jump(chain: &str) -> Vec<Expr> {
    vec![Expr::Verdict(Verdict::Jump(chain.to_owned()))]
}

/// `masquerade`: rewrite the source address to the output interface's.
pub fn masquerade() -> Vec<Expr> {
    vec![Expr::Masquerade]
}

/// `dnat ip to ADDRESS:PORT`, or `dnat ip6 to [ADDRESS]:PORT` for an IPv6 address.
pub fn dnat(address: IpAddr, port: u16) -> Vec<Expr> {
    let family = match address {
        IpAddr::V4(_) => NatFamily::Ipv4,
        IpAddr::V6(_) => NatFamily::Ipv6,
    };
    vec![
        Expr::Immediate { dest: Register::One, data: address_bytes(address) },
        Expr::Immediate { dest: Register::Two, data: port.to_be_bytes().to_vec() },
        Expr::Dnat { family, address: Register::One, port: Some(Register::Two) },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnat_loads_address_and_port() {
        let exprs = dnat("10.89.0.2".parse().unwrap(), 8080);
        assert_eq!(exprs[0], Expr::Immediate { dest: Register::One, data: vec![10, 89, 0, 2] });
        assert_eq!(exprs[1], Expr::Immediate { dest: Register::Two, data: vec![0x1f, 0x90] });
        assert_eq!(exprs[2], Expr::Dnat { family: NatFamily::Ipv4, address: Register::One, port: Some(Register::Two) });
    }

    #[test]
    fn dnat_to_ipv6_uses_ipv6_family() {
        let exprs = dnat("fd00:89::2".parse().unwrap(), 80);
        assert_eq!(
            exprs[0],
            Expr::Immediate {
                dest: Register::One,
                data: "fd00:89::2".parse::<std::net::Ipv6Addr>().unwrap().octets().to_vec()
            }
        );
        assert_eq!(exprs[2], Expr::Dnat { family: NatFamily::Ipv6, address: Register::One, port: Some(Register::Two) });
    }
}
