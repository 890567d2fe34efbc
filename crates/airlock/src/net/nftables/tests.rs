//! Tests against the kernel, each inside network namespaces it creates. The rule tests load
//! a [`Batch`] into one namespace and the nft text it stands for, through `nft -f`, into
//! another, and compare what `nft -j list ruleset` shows for each; most of them check the
//! batches that [`crate::net::firewall`] builds. The packet tests build a small network of
//! namespaces, install those batches where airlock does, and check what gets through:
//!
//! ```text
//!  client             host                                sandbox A (al-web network)
//!  eth0 10.90.0.2 ── uplink 10.90.0.1                ┌── eth0 10.89.0.2, fd00:89::2
//!                     al-web 10.89.0.1, fd00:89::1 ──┘
//!                     al-db  10.91.0.1 ───────────────── eth0 10.91.0.2   sandbox B (al-db)
//! ```

use super::*;
use crate::net::cidr::Cidr;
use crate::net::firewall::{egress_rules, network_rules, sandbox_host_rules, DnsRedirect, Forward};
use crate::net::rtnl::Netlink;
use crate::net::testns::{run_json, run_program, set_net_sysctl, TestNetns};
use crate::spec::{self, EgressRule};
use serde_json::Value;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

/// How long a test waits for a connection or a datagram that should get through, or that a
/// dropped one needs to count as lost.
const WAIT: Duration = Duration::from_secs(2);

fn cidr(text: &str) -> Cidr {
    text.parse().unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn socket(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// The host's table for the al-web network, as airlock installs it with the bridge.
fn web_network(internal: bool) -> Batch {
    let table = Table::new(Family::Inet, "airlock-net-web");
    network_rules(&table, "al-web", &[cidr("10.89.0.0/24"), cidr("fd00:89::/64")], internal).unwrap()
}

/// The host's table for sandbox A, as airlock installs it when the sandbox starts.
fn sandbox_a_ports(forwards: &[Forward], dns: Option<DnsRedirect>) -> Batch {
    sandbox_host_rules(&Table::new(Family::Inet, "airlock-sandbox-1"), forwards, dns).unwrap()
}

/// Egress grants in the syntax of `--allow-egress`.
fn grants(texts: &[&str]) -> Vec<EgressRule> {
    texts.iter().map(|text| text.parse().unwrap()).collect()
}

/// Returns the chains and rules that `nft -j list ruleset` shows in the calling thread's
/// namespace, without handles, which differ between two loads of the same rules.
fn ruleset() -> Vec<Value> {
    let listing = run_json("nft", &["-j", "list", "ruleset"]);
    let mut objects = Vec::new();
    for entry in listing["nftables"].as_array().expect("nft -j prints an nftables array") {
        let Some((kind, object)) = entry.as_object().and_then(|entry| entry.iter().next()) else {
            continue;
        };
        if kind == "metainfo" {
            continue;
        }
        let mut object = object.clone();
        object.as_object_mut().expect("each nft object is a JSON object").remove("handle");
        objects.push(serde_json::json!({ kind.as_str(): object }));
    }
    objects
}

/// Returns what `nft -j list ruleset` shows after `nft -f` loads `text` into a new namespace.
fn nft_reference(text: &str) -> Vec<Value> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let path = file.path().to_str().unwrap();
    TestNetns::new().run(|| {
        run_program("nft", &["-f", path]);
        ruleset()
    })
}

/// Compares two listings object by object, so a failure shows the first rule that differs.
fn assert_same_ruleset(ours: &[Value], reference: &[Value]) {
    for (index, (ours, reference)) in ours.iter().zip(reference).enumerate() {
        assert_eq!(ours, reference, "object {index} differs:\n ours: {ours}\n nft:  {reference}");
    }
    assert_eq!(ours.len(), reference.len(), "ours: {ours:#?}\nnft: {reference:#?}");
}

/// Checks that sending `batch` to a new namespace leaves the ruleset that `nft -f` makes of
/// `reference`.
fn assert_matches_nft(batch: &Batch, reference: &str) {
    let ours = TestNetns::new().run(|| {
        batch.send().unwrap();
        ruleset()
    });
    assert_same_ruleset(&ours, &nft_reference(reference));
}

#[test]
fn network_rules_match_nft() {
    assert_matches_nft(
        &web_network(false),
        r#"
        table inet airlock-net-web {
            chain postrouting {
                type nat hook postrouting priority 100; policy accept;
                ip saddr 10.89.0.0/24 oifname != "al-web" masquerade
                ip6 saddr fd00:89::/64 oifname != "al-web" masquerade
                ip saddr 127.0.0.0/8 oifname "al-web" masquerade
                ip saddr 10.89.0.0/24 oifname "al-web" ct status dnat masquerade
                ip6 saddr fd00:89::/64 oifname "al-web" ct status dnat masquerade
            }
            chain forward {
                type filter hook forward priority 0; policy accept;
                iifname "al-web" ct status dnat accept
                iifname "al-web" oifname "al-*" oifname != "al-web" drop
                oifname "al-web" ct state established,related accept
                oifname "al-web" ct status dnat accept
                oifname "al-web" iifname != "al-web" drop
            }
        }
        "#,
    );
}

#[test]
fn internal_network_rules_match_nft() {
    // No masquerade out of the network, and a drop for everything that would leave it.
    assert_matches_nft(
        &web_network(true),
        r#"
        table inet airlock-net-web {
            chain postrouting {
                type nat hook postrouting priority 100; policy accept;
                ip saddr 127.0.0.0/8 oifname "al-web" masquerade
                ip saddr 10.89.0.0/24 oifname "al-web" ct status dnat masquerade
                ip6 saddr fd00:89::/64 oifname "al-web" ct status dnat masquerade
            }
            chain forward {
                type filter hook forward priority 0; policy accept;
                iifname "al-web" oifname != "al-web" drop
                iifname "al-web" oifname "al-*" oifname != "al-web" drop
                oifname "al-web" ct state established,related accept
                oifname "al-web" ct status dnat accept
                oifname "al-web" iifname != "al-web" drop
            }
        }
        "#,
    );
}

#[test]
fn sandbox_host_rules_match_nft() {
    let forwards = [
        Forward { protocol: spec::Protocol::Tcp, host_address: None, host_port: 8080, target: socket("10.89.0.2:80") },
        Forward {
            protocol: spec::Protocol::Udp,
            host_address: Some(ip("10.0.0.1")),
            host_port: 5353,
            target: socket("10.89.0.2:53"),
        },
        Forward {
            protocol: spec::Protocol::Tcp,
            host_address: None,
            host_port: 8443,
            target: socket("[fd00:89::2]:443"),
        },
    ];
    assert_matches_nft(
        &sandbox_a_ports(&forwards, None),
        r#"
        table inet airlock-sandbox-1 {
            chain prerouting {
                type nat hook prerouting priority -100; policy accept;
                fib daddr type local tcp dport 8080 dnat ip to 10.89.0.2:80
                ip daddr 10.0.0.1 udp dport 5353 dnat ip to 10.89.0.2:53
                fib daddr type local tcp dport 8443 dnat ip6 to [fd00:89::2]:443
            }
            chain output {
                type nat hook output priority -100; policy accept;
                fib daddr type local tcp dport 8080 dnat ip to 10.89.0.2:80
                ip daddr 10.0.0.1 udp dport 5353 dnat ip to 10.89.0.2:53
                fib daddr type local tcp dport 8443 dnat ip6 to [fd00:89::2]:443
            }
        }
        "#,
    );
}

#[test]
fn dns_redirect_matches_nft() {
    // The redirect follows the published ports, and only in prerouting: the host's own
    // queries to the gateway need none.
    let forward =
        Forward { protocol: spec::Protocol::Tcp, host_address: None, host_port: 8080, target: socket("10.89.0.2:80") };
    let dns =
        DnsRedirect { bridge_address: ip("10.89.0.1"), sandbox_address: ip("10.89.0.2"), resolver: ip("127.0.0.53") };
    assert_matches_nft(
        &sandbox_a_ports(&[forward], Some(dns)),
        r#"
        table inet airlock-sandbox-1 {
            chain prerouting {
                type nat hook prerouting priority -100; policy accept;
                fib daddr type local tcp dport 8080 dnat ip to 10.89.0.2:80
                ip saddr 10.89.0.2 ip daddr 10.89.0.1 udp dport 53 dnat ip to 127.0.0.53:53
                ip saddr 10.89.0.2 ip daddr 10.89.0.1 tcp dport 53 dnat ip to 127.0.0.53:53
            }
            chain output {
                type nat hook output priority -100; policy accept;
                fib daddr type local tcp dport 8080 dnat ip to 10.89.0.2:80
            }
        }
        "#,
    );
}

#[test]
fn egress_rules_match_nft() {
    let egress = grants(&[
        "10.0.0.0/12:1000-2000/tcp",
        "192.0.2.0/24/udp",
        "198.51.100.7",
        "2001:db8::/33",
        "[fd00:89::1]:7000/udp",
        // A port without a protocol grants it for TCP and UDP, in two rules.
        "203.0.113.0/24:443",
    ]);
    assert_matches_nft(
        &egress_rules(&[ip("10.89.0.1")], &egress).unwrap(),
        r#"
        table inet airlock {
            chain output {
                type filter hook output priority 0; policy drop;
                oifname "lo" accept
                ct state established,related accept
                icmpv6 type nd-neighbor-solicit accept
                icmpv6 type nd-neighbor-advert accept
                ip daddr 10.89.0.1 udp dport 53 accept
                ip daddr 10.89.0.1 tcp dport 53 accept
                ip daddr 10.0.0.0/12 tcp dport >= 1000 tcp dport <= 2000 accept
                ip daddr 192.0.2.0/24 meta l4proto udp accept
                ip daddr 198.51.100.7 accept
                ip6 daddr 2001:db8::/33 accept
                ip6 daddr fd00:89::1 udp dport >= 7000 udp dport <= 7000 accept
                ip daddr 203.0.113.0/24 tcp dport >= 443 tcp dport <= 443 accept
                ip daddr 203.0.113.0/24 udp dport >= 443 udp dport <= 443 accept
            }
        }
        "#,
    );
}

#[test]
fn regular_chain_and_jump_match_nft() {
    let table = Table::new(Family::Inet, "airlock");
    let mut batch = Batch::new();
    batch.add_table(&table);
    batch.add_chain(&table, "egress", None);
    batch.add_chain(&table, "output", Some(BaseChain::filter(Hook::Output, 0)));
    let new_or_invalid = [matches::ct_state(&[CtState::Invalid, CtState::New]), statements::drop()].concat();
    batch.add_rule(&table, "egress", &new_or_invalid);
    // Comparisons that no builder uses, written as raw expressions.
    for (op, port) in [(CmpOp::Lt, 1024u16), (CmpOp::Gt, 60000)] {
        let mut rule = matches::protocol(Protocol::Tcp);
        rule.push(Expr::Payload { base: PayloadBase::Transport, offset: 2, len: 2, dest: Register::One });
        rule.push(Expr::Cmp { op, source: Register::One, data: port.to_be_bytes().to_vec() });
        rule.extend(statements::accept());
        batch.add_rule(&table, "egress", &rule);
    }
    batch.add_rule(&table, "output", &[matches::oifname("eth0").unwrap(), statements::jump("egress")].concat());
    assert_matches_nft(
        &batch,
        r#"
        table inet airlock {
            chain egress {
                ct state invalid,new drop
                tcp dport < 1024 accept
                tcp dport > 60000 accept
            }
            chain output {
                type filter hook output priority 0; policy accept;
                oifname "eth0" jump egress
            }
        }
        "#,
    );
}

#[test]
fn ip_and_ip6_tables_match_nft() {
    let mut batch = Batch::new();
    for (family, name) in [(Family::Ip, "airlock-v4"), (Family::Ip6, "airlock-v6")] {
        let table = Table::new(family, name);
        batch.add_table(&table);
        batch.add_chain(&table, "input", Some(BaseChain::filter(Hook::Input, 10).with_policy(Policy::Drop)));
        batch.add_rule(&table, "input", &[matches::iifname("lo").unwrap(), statements::accept()].concat());
    }
    assert_matches_nft(
        &batch,
        r#"
        table ip airlock-v4 {
            chain input { type filter hook input priority 10; policy drop; iifname "lo" accept; }
        }
        table ip6 airlock-v6 {
            chain input { type filter hook input priority 10; policy drop; iifname "lo" accept; }
        }
        "#,
    );
}

#[test]
fn delete_table_removes_it() {
    TestNetns::new().run(|| {
        let table = Table::new(Family::Inet, "airlock-web");
        let mut batch = Batch::new();
        batch.add_table(&table).add_chain(&table, "forward", Some(BaseChain::filter(Hook::Forward, 0)));
        batch.send().unwrap();
        assert_eq!(ruleset().len(), 2, "the table and its chain were not created");

        Batch::new().delete_table(&table).send().unwrap();
        assert_eq!(ruleset(), Vec::<Value>::new());
    });
}

#[test]
fn delete_missing_table_is_not_found() {
    TestNetns::new().run(|| {
        let error = Batch::new().delete_table(&Table::new(Family::Inet, "airlock-gone")).send().unwrap_err();
        assert!(matches!(error, NftError::NotFound { .. }), "{error:?}");
        assert_eq!(error.to_string(), "cannot delete table inet airlock-gone: no such file or directory");
    });
}

#[test]
fn failed_batch_applies_nothing() {
    TestNetns::new().run(|| {
        let table = Table::new(Family::Inet, "airlock-web");
        let mut batch = Batch::new();
        batch.add_table(&table);
        batch.add_chain(&table, "forward", Some(BaseChain::filter(Hook::Forward, 0)));
        batch.add_rule(&table, "forward", &statements::accept());
        batch.add_rule(&table, "absent", &statements::accept());

        let error = batch.send().unwrap_err();
        assert!(matches!(error, NftError::NotFound { .. }), "{error:?}");
        assert!(
            error.to_string().starts_with("cannot add rule 1 to chain absent of table inet airlock-web: "),
            "{error}"
        );
        assert_eq!(ruleset(), Vec::<Value>::new(), "part of a failed batch was applied");
    });
}

#[test]
fn rejected_change_is_named() {
    TestNetns::new().run(|| {
        let table = Table::new(Family::Inet, "airlock-web");
        let mut batch = Batch::new();
        batch.add_table(&table);
        // The kernel has no NAT at the forward hook.
        batch.add_chain(&table, "forward", Some(BaseChain::nat(Hook::Forward, 0)));

        let error = batch.send().unwrap_err();
        match &error {
            NftError::Rejected { operation, source } => {
                assert_eq!(operation, "add chain forward to table inet airlock-web");
                assert_eq!(source.errno(), nix::errno::Errno::EOPNOTSUPP, "{source}");
            }
            other => panic!("expected a rejected change, got {other:?}"),
        }
    });
}

#[test]
fn readding_table_replaces_rules() {
    TestNetns::new().run(|| {
        let table = Table::new(Family::Inet, "airlock");
        let chain = Some(BaseChain::filter(Hook::Output, 0));
        let mut first = Batch::new();
        first.add_table(&table).add_chain(&table, "output", chain);
        first.add_rule(&table, "output", &[matches::oifname("old0").unwrap(), statements::drop()].concat());
        first.send().unwrap();

        let mut second = Batch::new();
        second.add_table(&table).delete_table(&table).add_table(&table).add_chain(&table, "output", chain);
        second.add_rule(&table, "output", &[matches::oifname("new0").unwrap(), statements::drop()].concat());
        second.send().unwrap();

        let rules: Vec<String> =
            ruleset().iter().filter(|object| object.get("rule").is_some()).map(Value::to_string).collect();
        assert_eq!(rules.len(), 1, "{rules:#?}");
        assert!(rules[0].contains("new0"), "{rules:#?}");
    });
}

/// The namespaces of the packet tests, wired as the module comment draws them.
struct Network {
    client: TestNetns,
    host: TestNetns,
    sandbox_a: TestNetns,
    sandbox_b: TestNetns,
}

impl Network {
    fn new() -> Network {
        let network = Network {
            client: TestNetns::new(),
            host: TestNetns::new(),
            sandbox_a: TestNetns::new(),
            sandbox_b: TestNetns::new(),
        };
        network.host.run(|| {
            let mut netlink = Netlink::open().unwrap();
            netlink.set_up("lo").unwrap();
            netlink.create_veth("uplink", "eth0", network.client.fd()).unwrap();
            netlink.set_up("uplink").unwrap();
            netlink.add_address("uplink", ip("10.90.0.1"), 24).unwrap();
            for (bridge, port, sandbox, address) in [
                ("al-web", "al-web-1", &network.sandbox_a, "10.89.0.1"),
                ("al-db", "al-db-1", &network.sandbox_b, "10.91.0.1"),
            ] {
                netlink.create_bridge(bridge).unwrap();
                netlink.set_up(bridge).unwrap();
                netlink.add_address(bridge, ip(address), 24).unwrap();
                netlink.create_veth(port, "eth0", sandbox.fd()).unwrap();
                netlink.set_master(port, bridge).unwrap();
                netlink.set_up(port).unwrap();
            }
            netlink.add_address("al-web", ip("fd00:89::1"), 64).unwrap();
            set_net_sysctl("ipv4/ip_forward", "1");
            // Lets the output chain send 127.0.0.1's packets to a sandbox, where the
            // loopback masquerade rule gives them the bridge's address.
            set_net_sysctl("ipv4/conf/all/route_localnet", "1");
        });
        let ends = [
            (&network.client, "10.90.0.2", "10.90.0.1"),
            (&network.sandbox_a, "10.89.0.2", "10.89.0.1"),
            (&network.sandbox_b, "10.91.0.2", "10.91.0.1"),
        ];
        for (namespace, address, gateway) in ends {
            namespace.run(|| {
                let mut netlink = Netlink::open().unwrap();
                netlink.set_up("lo").unwrap();
                netlink.set_up("eth0").unwrap();
                netlink.add_address("eth0", ip(address), 24).unwrap();
                netlink.add_default_route(ip(gateway)).unwrap();
            });
        }
        network.sandbox_a.run(|| Netlink::open().unwrap().add_address("eth0", ip("fd00:89::2"), 64).unwrap());
        network
    }
}

fn listen(namespace: &TestNetns, address: &str) -> TcpListener {
    namespace.run(|| TcpListener::bind(address).unwrap())
}

fn connect(namespace: &TestNetns, address: &str) -> std::io::Result<TcpStream> {
    namespace.run(|| TcpStream::connect_timeout(&socket(address), WAIT))
}

/// The address that the peer of the connection waiting on `listener` comes from.
fn peer_of_accepted(listener: &TcpListener) -> IpAddr {
    listener.set_nonblocking(true).unwrap();
    let (_, peer) = listener.accept().expect("the connection did not reach the listener");
    peer.ip()
}

#[test]
fn masquerade_hides_sandbox_address() {
    let network = Network::new();
    network.host.run(|| web_network(false).send().unwrap());

    let listener = listen(&network.client, "10.90.0.2:9000");
    let _stream = connect(&network.sandbox_a, "10.90.0.2:9000").expect("the sandbox cannot reach the client");
    assert_eq!(peer_of_accepted(&listener), ip("10.90.0.1"), "the sandbox's address was not masqueraded");
}

#[test]
fn published_port_reaches_sandbox() {
    let network = Network::new();
    let forward =
        Forward { protocol: spec::Protocol::Tcp, host_address: None, host_port: 8080, target: socket("10.89.0.2:80") };
    // The sandbox's table rewrites the destination; the network's lets the connection in
    // and gives 127.0.0.1 the bridge's address.
    network.host.run(|| {
        web_network(false).send().unwrap();
        sandbox_a_ports(&[forward], None).send().unwrap();
    });
    let listener = listen(&network.sandbox_a, "10.89.0.2:80");

    let _from_client =
        connect(&network.client, "10.90.0.1:8080").expect("the published port is unreachable from the client");
    assert_eq!(peer_of_accepted(&listener), ip("10.90.0.2"), "the client's address was rewritten");

    let _from_host =
        connect(&network.host, "127.0.0.1:8080").expect("the published port is unreachable from the host's loopback");
    assert_eq!(peer_of_accepted(&listener), ip("10.89.0.1"), "127.0.0.1 was not masqueraded to the bridge's address");
}

#[test]
fn forward_chain_blocks_unpublished_ports() {
    let network = Network::new();
    let listener = listen(&network.sandbox_a, "10.89.0.2:80");
    let before = connect(&network.client, "10.89.0.2:80");
    assert!(before.is_ok(), "the client cannot reach the sandbox even without rules: {before:?}");
    assert_eq!(peer_of_accepted(&listener), ip("10.90.0.2"));

    network.host.run(|| web_network(false).send().unwrap());
    let after = connect(&network.client, "10.89.0.2:80");
    assert_eq!(
        after.map_err(|error| error.kind()).err(),
        Some(ErrorKind::TimedOut),
        "an unpublished port was reachable"
    );
}

#[test]
fn forward_chain_isolates_networks() {
    let network = Network::new();
    let listener = listen(&network.sandbox_b, "10.91.0.2:5432");
    let before = connect(&network.sandbox_a, "10.91.0.2:5432");
    assert!(before.is_ok(), "sandbox A cannot reach sandbox B even without rules: {before:?}");
    drop(listener);

    // Only the al-web table, though airlock installs one per network: the al-db table's
    // last forward rule, which drops unrequested inbound traffic, would stop the connection
    // too and hide whether al-web's first rule alone keeps its sandboxes out of al-db.
    network.host.run(|| web_network(false).send().unwrap());
    let _listener = listen(&network.sandbox_b, "10.91.0.2:5433");
    let after = connect(&network.sandbox_a, "10.91.0.2:5433");
    assert_eq!(
        after.map_err(|error| error.kind()).err(),
        Some(ErrorKind::TimedOut),
        "sandbox A reached another network"
    );
}

#[test]
fn egress_rules_limit_sandbox_output() {
    let network = Network::new();
    let egress = grants(&["10.90.0.2:9000-9001/tcp", "10.91.0.0/24", "[fd00:89::1]:7000/tcp"]);
    let _client = [9000, 9002].map(|port| listen(&network.client, &format!("10.90.0.2:{port}")));
    let _host = [7000, 7001].map(|port| listen(&network.host, &format!("[fd00:89::1]:{port}")));
    let resolver = network.host.run(|| UdpSocket::bind("10.89.0.1:53").unwrap());
    let sandbox_b = network.sandbox_b.run(|| UdpSocket::bind("10.91.0.2:5000").unwrap());
    let _loopback = listen(&network.sandbox_a, "127.0.0.1:6000");

    network.sandbox_a.run(|| {
        egress_rules(&[ip("10.89.0.1")], &egress).unwrap().send().unwrap();

        for allowed in ["10.90.0.2:9000", "[fd00:89::1]:7000", "127.0.0.1:6000"] {
            let result = TcpStream::connect_timeout(&socket(allowed), WAIT);
            assert!(result.is_ok(), "the connection to {allowed} was blocked: {result:?}");
        }
        // TCP takes a dropped SYN for a lost one and retries until the timeout. A UDP send
        // that the output chain drops fails at once with EPERM.
        for blocked in ["10.90.0.2:9002", "[fd00:89::1]:7001"] {
            let result = TcpStream::connect_timeout(&socket(blocked), WAIT);
            assert_eq!(result.map_err(|error| error.kind()).err(), Some(ErrorKind::TimedOut), "{blocked}");
        }

        let udp = UdpSocket::bind("0.0.0.0:0").unwrap();
        udp.send_to(b"dns", "10.89.0.1:53").expect("DNS to the resolver was blocked");
        udp.send_to(b"any protocol", "10.91.0.2:5000").expect("UDP to a granted network was blocked");
        let blocked = udp.send_to(b"not granted", "10.90.0.2:5000");
        assert_eq!(blocked.map_err(|error| error.kind()).err(), Some(ErrorKind::PermissionDenied));
    });

    for (receiver, expected) in [(&resolver, &b"dns"[..]), (&sandbox_b, &b"any protocol"[..])] {
        receiver.set_read_timeout(Some(WAIT)).unwrap();
        let mut buffer = [0; 64];
        let (length, _) = receiver.recv_from(&mut buffer).expect("the granted datagram did not arrive");
        assert_eq!(&buffer[..length], expected);
    }
}

#[test]
fn large_batch_is_acked() {
    // Larger than the default socket buffers hold: about 300 KiB to send, 3000 acks back.
    TestNetns::new().run(|| {
        let table = Table::new(Family::Inet, "airlock");
        let mut batch = Batch::new();
        batch.add_table(&table).add_chain(&table, "egress", None);
        for index in 0..3000u32 {
            let network = Cidr::host(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + index)));
            batch.add_rule(&table, "egress", &[matches::daddr(network), statements::accept()].concat());
        }
        batch.send().unwrap();

        let rules = ruleset().iter().filter(|object| object.get("rule").is_some()).count();
        assert_eq!(rules, 3000);
    });
}
