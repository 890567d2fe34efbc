//! Tests that send real requests inside network namespaces they create, then read the result
//! back with `ip -j`, which goes through its own netlink code.

use super::*;
use crate::net::testns::{run_json, run_program, TestNetns};
use serde_json::Value;
use std::fs::File;
use std::os::fd::AsFd;

/// Returns the `ip -j -d link show` entry for `name`, if the calling thread's namespace has it.
fn ip_link(name: &str) -> Option<Value> {
    let links = run_json("ip", &["-j", "-d", "link", "show"]);
    links.as_array().expect("ip -j link prints an array").iter().find(|link| link["ifname"] == name).cloned()
}

fn has_flag(link: &Value, flag: &str) -> bool {
    link["flags"].as_array().is_some_and(|flags| flags.iter().any(|value| value == flag))
}

/// Returns the `(family, local, prefixlen)` of every address on `link`, as `ip -j addr` shows them.
fn ip_addresses(link: &str) -> Vec<(String, String, u64)> {
    let entries = run_json("ip", &["-j", "addr", "show", "dev", link]);
    let mut addresses = Vec::new();
    for info in entries[0]["addr_info"].as_array().expect("ip -j addr prints addr_info") {
        let family = info["family"].as_str().unwrap_or_default().to_owned();
        let local = info["local"].as_str().unwrap_or_default().to_owned();
        addresses.push((family, local, info["prefixlen"].as_u64().unwrap_or_default()));
    }
    addresses
}

/// Returns the largest IPv4 packet the kernel lets `link` pass on in one piece, read over
/// netlink because the `ip` of Debian 12 does not print it.
fn ipv4_segment_bytes(netlink: &mut Netlink, link: &str) -> Option<u32> {
    let mut message = LinkMessage::default();
    message.attributes.push(LinkAttribute::IfName(link.to_owned()));
    let replies = netlink.request(RouteNetlinkMessage::GetLink(message), NLM_F_ACK, Some(link), || "read link".into()).unwrap();
    let [RouteNetlinkMessage::NewLink(reply)] = replies.as_slice() else { panic!("one link expected") };
    reply.attributes.iter().find_map(|attribute| match attribute {
        LinkAttribute::GsoIpv4MaxSize(bytes) => Some(*bytes),
        _ => None,
    })
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn cidr(text: &str) -> Cidr {
    text.parse().unwrap()
}

#[test]
fn check_name_rejects_invalid_names() {
    let cases = [
        ("", "the name is empty"),
        ("al-0123456789abc", "an interface name is at most 15 bytes"),
        (".", "\".\" and \"..\" are not interface names"),
        ("..", "\".\" and \"..\" are not interface names"),
        ("al/web", "an interface name cannot contain '/', ':', NUL or white space"),
        ("al:web", "an interface name cannot contain '/', ':', NUL or white space"),
        ("al web", "an interface name cannot contain '/', ':', NUL or white space"),
        ("al\u{b}web", "an interface name cannot contain '/', ':', NUL or white space"),
        ("al\0web", "an interface name cannot contain '/', ':', NUL or white space"),
    ];
    for (name, reason) in cases {
        match check_name(name) {
            Err(RtnlError::InvalidName { reason: found, .. }) => assert_eq!(found, reason, "reason for {name:?}"),
            other => panic!("{name:?} was not rejected as invalid: {other:?}"),
        }
    }
}

#[test]
fn check_name_accepts_valid_names() {
    for name in ["lo", "al-web", "al-0123456789ab", "eth0.100", "..."] {
        assert!(check_name(name).is_ok(), "{name:?} was rejected");
    }
}

#[test]
fn long_name_error_names_the_limit() {
    let error = check_name("al-sixteen-bytes").unwrap_err();
    assert_eq!(error.to_string(), "invalid interface name \"al-sixteen-bytes\": an interface name is at most 15 bytes");
}

#[test]
fn bridge_and_veth_into_namespace() {
    let host = TestNetns::new();
    let sandbox = TestNetns::new();

    host.run(|| {
        let mut netlink = Netlink::open().unwrap();
        netlink.create_bridge("al-test").unwrap();
        netlink.create_veth("al-test-h", "eth0", sandbox.fd()).unwrap();
        netlink.set_master("al-test-h", "al-test").unwrap();
        netlink.allow_large_segments("al-test").unwrap();
        netlink.set_hairpin("al-test-h").unwrap();
        netlink.set_up("al-test").unwrap();
        netlink.set_up("al-test-h").unwrap();

        let bridge = ip_link("al-test").expect("the bridge is missing");
        assert_eq!(bridge["linkinfo"]["info_kind"], "bridge");
        assert!(has_flag(&bridge, "UP"), "the bridge is not up: {bridge}");

        let veth = ip_link("al-test-h").expect("the host end of the veth pair is missing");
        assert_eq!(veth["linkinfo"]["info_kind"], "veth");
        assert_eq!(veth["master"], "al-test");
        assert_eq!(veth["linkinfo"]["info_slave_data"]["hairpin"], true, "{veth}");
        assert!(has_flag(&veth, "UP"), "the host end is not up: {veth}");

        assert!(ip_link("eth0").is_none(), "the peer was created in the host's namespace");

        assert_eq!(ipv4_segment_bytes(&mut netlink, "al-test"), Some(IPV4_SEGMENT_BYTES));
        assert_eq!(ipv4_segment_bytes(&mut netlink, "al-test-h"), Some(IPV4_SEGMENT_BYTES));
    });

    sandbox.run(|| {
        let peer = ip_link("eth0").expect("the peer is missing from the sandbox's namespace");
        assert_eq!(peer["linkinfo"]["info_kind"], "veth");
        assert_eq!(ipv4_segment_bytes(&mut Netlink::open().unwrap(), "eth0"), Some(IPV4_SEGMENT_BYTES));
        assert!(ip_link("al-test-h").is_none(), "the host end is in the sandbox's namespace");
    });
}

#[test]
fn addresses_of_both_families() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        netlink.create_bridge("al-test").unwrap();
        netlink.set_up("al-test").unwrap();
        netlink.add_address("al-test", ip("10.77.0.1"), 24).unwrap();
        netlink.add_address("al-test", ip("fd00:77::1"), 64).unwrap();

        let addresses = ip_addresses("al-test");
        assert!(addresses.contains(&("inet".into(), "10.77.0.1".into(), 24)), "{addresses:?}");
        assert!(addresses.contains(&("inet6".into(), "fd00:77::1".into(), 64)), "{addresses:?}");

        let entries = run_json("ip", &["-j", "-6", "addr", "show", "dev", "al-test"]);
        let info = entries[0]["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .find(|info| info["local"] == "fd00:77::1")
            .cloned()
            .unwrap();
        assert_eq!(info["nodad"], true, "the IPv6 address does not skip duplicate address detection: {info}");
    });
}

#[test]
fn add_address_rejects_long_prefix() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        let error = netlink.add_address("lo", ip("10.77.0.1"), 33).unwrap_err();
        assert_eq!(error.to_string(), "invalid network \"10.77.0.1/33\": an IPv4 prefix is at most 32 bits");
    });
}

#[test]
fn default_routes_of_both_families() {
    let host = TestNetns::new();
    host.run(|| {
        let mut netlink = Netlink::open().unwrap();
        // Both ends in this namespace, so the link has carrier and the gateways are reachable.
        let this_namespace = File::open("/proc/thread-self/ns/net").unwrap();
        netlink.create_veth("al-test", "al-test-peer", this_namespace.as_fd()).unwrap();
        netlink.set_up("al-test").unwrap();
        netlink.set_up("al-test-peer").unwrap();
        netlink.add_address("al-test", ip("10.77.0.2"), 24).unwrap();
        netlink.add_address("al-test", ip("fd00:77::2"), 64).unwrap();
        netlink.add_default_route(ip("10.77.0.1")).unwrap();
        netlink.add_default_route(ip("fd00:77::1")).unwrap();

        let v4 = run_json("ip", &["-j", "-4", "route", "show", "default"]);
        assert_eq!(v4.as_array().map(Vec::len), Some(1), "{v4}");
        assert_eq!(v4[0]["gateway"], "10.77.0.1");
        assert_eq!(v4[0]["dev"], "al-test");

        let v6 = run_json("ip", &["-j", "-6", "route", "show", "default"]);
        assert_eq!(v6.as_array().map(Vec::len), Some(1), "{v6}");
        assert_eq!(v6[0]["gateway"], "fd00:77::1");
        assert_eq!(v6[0]["dev"], "al-test");

        let error = netlink.add_default_route(ip("10.77.0.1")).unwrap_err();
        assert_eq!(error.to_string(), "cannot add a default route via 10.77.0.1: file exists");
    });
}

#[test]
fn list_routes_reports_both_families() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        let this_namespace = File::open("/proc/thread-self/ns/net").unwrap();
        netlink.create_veth("al-test", "al-test-peer", this_namespace.as_fd()).unwrap();
        netlink.set_up("al-test").unwrap();
        netlink.set_up("al-test-peer").unwrap();
        netlink.add_address("al-test", ip("10.77.0.2"), 24).unwrap();
        netlink.add_address("al-test", ip("fd00:77::2"), 64).unwrap();
        netlink.add_default_route(ip("10.77.0.1")).unwrap();
        netlink.add_default_route(ip("fd00:77::1")).unwrap();
        let index = netlink.link_index("al-test").unwrap();

        let routes = netlink.list_routes().unwrap();
        let expected = [
            (cidr("10.77.0.0/24"), RouteHeader::RT_TABLE_MAIN),
            (cidr("0.0.0.0/0"), RouteHeader::RT_TABLE_MAIN),
            (cidr("10.77.0.2/32"), 255),
            (cidr("fd00:77::/64"), RouteHeader::RT_TABLE_MAIN),
            (cidr("::/0"), RouteHeader::RT_TABLE_MAIN),
        ];
        for (destination, table) in expected {
            let route = Route {
                destination,
                table: u32::from(table),
                interface_index: index,
                interface: Some("al-test".to_owned()),
            };
            assert!(routes.contains(&route), "{route:?} is missing from {routes:#?}");
        }
    });
}

#[test]
fn link_index_matches_ip() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        netlink.create_bridge("al-test").unwrap();
        let ifindex = ip_link("al-test").unwrap()["ifindex"].as_u64().unwrap();
        assert_eq!(netlink.link_index("al-test").unwrap().map(u64::from), Some(ifindex));
        assert!(netlink.link_exists("al-test").unwrap());
        assert_eq!(netlink.link_index("lo").unwrap(), Some(1));
        assert_eq!(netlink.link_index("al-absent").unwrap(), None);
        assert!(!netlink.link_exists("al-absent").unwrap());
    });
}

#[test]
fn set_up_brings_loopback_up() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        assert!(!has_flag(&ip_link("lo").unwrap(), "UP"), "lo of a new namespace is already up");
        netlink.set_up("lo").unwrap();
        assert!(has_flag(&ip_link("lo").unwrap(), "UP"));
    });
}

#[test]
fn set_mtu_changes_mtu() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        netlink.create_bridge("al-test").unwrap();
        netlink.set_mtu("al-test", 1400).unwrap();
        assert_eq!(ip_link("al-test").unwrap()["mtu"], 1400);
    });
}

#[test]
fn delete_link_removes_both_veth_ends() {
    let host = TestNetns::new();
    let sandbox = TestNetns::new();
    host.run(|| {
        let mut netlink = Netlink::open().unwrap();
        netlink.create_veth("al-test-h", "eth0", sandbox.fd()).unwrap();
        netlink.delete_link("al-test-h").unwrap();
        assert!(ip_link("al-test-h").is_none(), "the host end is still there");

        let error = netlink.delete_link("al-test-h").unwrap_err();
        assert!(matches!(&error, RtnlError::LinkNotFound { name, .. } if name == "al-test-h"), "{error:?}");
        assert_eq!(error.to_string(), "cannot delete link al-test-h: no network interface named al-test-h");
    });
    sandbox.run(|| assert!(ip_link("eth0").is_none(), "the peer outlived its host end"));
}

#[test]
fn create_existing_bridge_fails() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        netlink.create_bridge("al-test").unwrap();
        let error = netlink.create_bridge("al-test").unwrap_err();
        match &error {
            RtnlError::Kernel { source, .. } => assert_eq!(source.errno(), Errno::EEXIST),
            other => panic!("expected a kernel error, got {other:?}"),
        }
        assert_eq!(error.to_string(), "cannot create bridge al-test: file exists");
    });
}

#[test]
fn set_master_needs_existing_bridge() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        let error = netlink.set_master("lo", "al-absent").unwrap_err();
        assert_eq!(error.to_string(), "cannot attach lo to bridge al-absent: no network interface named al-absent");
    });
}

#[test]
fn bridge_keeps_smaller_port_limit() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        netlink.create_bridge("al-test").unwrap();
        // A tap device allows no more than 64 KiB, so the bridge cannot go higher.
        run_program("ip", &["tuntap", "add", "al-tap", "mode", "tap"]);
        netlink.set_master("al-tap", "al-test").unwrap();

        netlink.allow_large_segments("al-test").unwrap();
        assert_eq!(ipv4_segment_bytes(&mut netlink, "al-test"), Some(64 * 1024));
    });
}

#[test]
fn set_up_missing_link_names_it() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        let error = netlink.set_up("al-absent").unwrap_err();
        assert!(matches!(&error, RtnlError::LinkNotFound { name, .. } if name == "al-absent"), "{error:?}");
    });
}

#[test]
fn kernel_reason_reaches_message() {
    TestNetns::new().run(|| {
        let mut netlink = Netlink::open().unwrap();
        let error = netlink.add_default_route(ip("10.99.0.1")).unwrap_err();
        match &error {
            RtnlError::Kernel { source, .. } => {
                assert_eq!(source.errno(), Errno::ENETUNREACH);
                assert!(source.message().is_some_and(|message| !message.is_empty()), "no extended ack: {source:?}");
            }
            other => panic!("expected a kernel error, got {other:?}"),
        }
        // The kernel's own text (Linux 6.18: "Nexthop has invalid gateway") follows in brackets.
        let text = error.to_string();
        assert!(text.starts_with("cannot add a default route via 10.99.0.1: network is unreachable ("), "{text}");
    });
}
