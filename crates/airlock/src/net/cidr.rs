//! IP networks in CIDR notation, such as `10.88.0.0/16` or `fd00:a1::/64`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network that cannot be built from the given address and prefix length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid network {value:?}: {reason}")]
pub struct CidrError {
    value: String,
    reason: &'static str,
}

/// An IP network: an address and a prefix length. The address may have host bits set
/// (`10.0.0.1/24`, as on an interface); [`Cidr::network`] clears them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    address: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// Builds a network, rejecting a prefix longer than the address (32 bits for IPv4, 128
    /// for IPv6).
    pub fn new(address: IpAddr, prefix_len: u8) -> Result<Cidr, CidrError> {
        if prefix_len > max_prefix_len(address) {
            return Err(CidrError {
                value: format!("{address}/{prefix_len}"),
                reason: if address.is_ipv4() {
                    "an IPv4 prefix is at most 32 bits"
                } else {
                    "an IPv6 prefix is at most 128 bits"
                },
            });
        }
        Ok(Cidr { address, prefix_len })
    }

    /// Builds the network of one address: `/32` for IPv4, `/128` for IPv6.
    pub fn host(address: IpAddr) -> Cidr {
        Cidr { address, prefix_len: max_prefix_len(address) }
    }

    /// Returns the address as given, host bits included.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// Returns the number of leading bits that make up the network.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Returns the address with every bit after the prefix cleared.
    pub fn network(&self) -> IpAddr {
        let mut bytes = address_bytes(self.address);
        for (byte, mask) in bytes.iter_mut().zip(self.mask()) {
            *byte &= mask;
        }
        match self.address {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&bytes[..]).expect("4 bytes"))),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&bytes[..]).expect("16 bytes"))),
        }
    }

    /// Returns the prefix as a netmask in network byte order, 4 or 16 bytes long.
    pub fn mask(&self) -> Vec<u8> {
        let mut mask = vec![0u8; address_bytes(self.address).len()];
        for (index, byte) in mask.iter_mut().enumerate() {
            // The prefix bits that fall in this byte, 0 to 8, set from the top down.
            let bits = u32::from(self.prefix_len).saturating_sub(index as u32 * 8).min(8);
            *byte = !0xffu8.checked_shr(bits).unwrap_or(0);
        }
        mask
    }
}

impl Cidr {
    /// Whether `address` lies in this network.
    pub fn contains(&self, address: IpAddr) -> bool {
        address.is_ipv4() == self.address.is_ipv4() && Cidr { address, prefix_len: self.prefix_len }.network() == self.network()
    }

    /// Whether the two networks share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let shorter = if self.prefix_len <= other.prefix_len { self } else { other };
        let longer = if std::ptr::eq(shorter, self) { other } else { self };
        shorter.contains(longer.address)
    }

    /// Returns the address `index` places after the network address, if it is still inside
    /// the network.
    pub fn nth(&self, index: u128) -> Option<IpAddr> {
        let host_bits = u32::from(max_prefix_len(self.address) - self.prefix_len);
        if host_bits < 128 && index >> host_bits != 0 {
            return None;
        }
        Some(match self.network() {
            IpAddr::V4(network) => IpAddr::V4(Ipv4Addr::from(u32::from(network).checked_add(u32::try_from(index).ok()?)?)),
            IpAddr::V6(network) => IpAddr::V6(Ipv6Addr::from(u128::from(network).checked_add(index)?)),
        })
    }

    /// Returns the number of addresses in the network, saturated for an IPv6 /0.
    pub fn size(&self) -> u128 {
        let host_bits = u32::from(max_prefix_len(self.address) - self.prefix_len);
        1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Cidr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Parses `ADDRESS/PREFIX`, or a bare address as a single-host network.
    fn from_str(value: &str) -> Result<Cidr, CidrError> {
        let invalid = |reason| CidrError { value: value.to_owned(), reason };
        let (address, prefix_len) = match value.split_once('/') {
            Some((address, prefix_len)) => (address, Some(prefix_len)),
            None => (value, None),
        };
        let address: IpAddr = address.parse().map_err(|_| invalid("not an IPv4 or IPv6 address"))?;
        match prefix_len {
            None => Ok(Cidr::host(address)),
            Some(prefix_len) => {
                let prefix_len = prefix_len.parse().map_err(|_| invalid("the prefix length is not a number"))?;
                Cidr::new(address, prefix_len).map_err(|error| CidrError { value: value.to_owned(), ..error })
            }
        }
    }
}

fn max_prefix_len(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Returns the address in network byte order, 4 or 16 bytes long.
pub(crate) fn address_bytes(address: IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(address) => address.octets().to_vec(),
        IpAddr::V6(address) => address.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for text in ["10.88.0.0/16", "10.0.0.1/24", "0.0.0.0/0", "fd00:a1::/64", "::/0", "2001:db8::1/128"] {
            let cidr: Cidr = text.parse().unwrap();
            assert_eq!(cidr.to_string(), text);
        }
    }

    #[test]
    fn containment_and_overlap() {
        let net: Cidr = "10.89.0.0/24".parse().unwrap();
        assert!(net.contains("10.89.0.200".parse().unwrap()));
        assert!(!net.contains("10.89.1.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        assert!(net.overlaps(&"10.0.0.0/8".parse().unwrap()));
        assert!("10.0.0.0/8".parse::<Cidr>().unwrap().overlaps(&net));
        assert!(!net.overlaps(&"10.89.1.0/24".parse().unwrap()));
        assert_eq!(net.nth(1), Some("10.89.0.1".parse().unwrap()));
        assert_eq!(net.nth(255), Some("10.89.0.255".parse().unwrap()));
        assert_eq!(net.nth(256), None);
        assert_eq!(net.size(), 256);
        let v6: Cidr = "fd00:89::/64".parse().unwrap();
        assert_eq!(v6.nth(2), Some("fd00:89::2".parse().unwrap()));
    }

    #[test]
    fn bare_address_is_host_network() {
        let v4: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(v4.prefix_len(), 32);
        let v6: Cidr = "2001:db8::7".parse().unwrap();
        assert_eq!(v6.prefix_len(), 128);
    }

    #[test]
    fn parse_rejects_bad_input() {
        let cases = [
            ("10.0.0.0/33", "invalid network \"10.0.0.0/33\": an IPv4 prefix is at most 32 bits"),
            ("fd00::/129", "invalid network \"fd00::/129\": an IPv6 prefix is at most 128 bits"),
            ("10.0.0/8", "invalid network \"10.0.0/8\": not an IPv4 or IPv6 address"),
            ("10.0.0.0/x", "invalid network \"10.0.0.0/x\": the prefix length is not a number"),
            ("10.0.0.0/-1", "invalid network \"10.0.0.0/-1\": the prefix length is not a number"),
        ];
        for (text, message) in cases {
            let error = text.parse::<Cidr>().unwrap_err();
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn network_clears_host_bits() {
        let cases = [
            ("10.1.2.3/24", "10.1.2.0"),
            ("10.1.2.3/12", "10.0.0.0"),
            ("10.1.2.3/0", "0.0.0.0"),
            ("10.1.2.3/32", "10.1.2.3"),
            ("fd00:a1:b2:c3::9/33", "fd00:a1::"),
            ("fd00:a1:b2:c3::9/64", "fd00:a1:b2:c3::"),
        ];
        for (text, network) in cases {
            let cidr: Cidr = text.parse().unwrap();
            assert_eq!(cidr.network().to_string(), network, "network of {text}");
        }
    }

    #[test]
    fn mask_has_prefix_bits_set() {
        let mask = |text: &str| text.parse::<Cidr>().unwrap().mask();
        assert_eq!(mask("10.0.0.0/12"), [0xff, 0xf0, 0, 0]);
        assert_eq!(mask("10.0.0.0/0"), [0, 0, 0, 0]);
        assert_eq!(mask("10.0.0.0/32"), [0xff; 4]);
        let v6 = mask("2001:db8::/33");
        assert_eq!(v6[..5], [0xff, 0xff, 0xff, 0xff, 0x80]);
        assert!(v6[5..].iter().all(|&byte| byte == 0));
    }
}
