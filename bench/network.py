#!/usr/bin/env python3
"""Networking: start-up of a bridged sandbox with a published port, and TCP throughput.

- `airlock run --net bridge --publish 8080:80 -- /bin/true` against a shell script that
  builds the same with iproute2 and nft (named netns, veth pair, addresses, default route,
  DNAT rule), runs `/bin/true` in it and removes it all again; alternated in one run. The
  script's iproute2 part alone is timed as well.
- iperf3 TCP throughput from a bridged sandbox to the host, against two plain network
  namespaces joined by a veth pair. A third path shows the same veth pair with the
  192 KiB IPv4 packets ("BIG TCP") that airlock's links allow, so the bridge's own cost
  can be read apart from that setting.
- Rootless: iperf3 throughput through `airlock run --net user` (pasta) against
  `slirp4netns` on a namespace made by `unshare`, both as the unprivileged test user.

Run as root: `python3 bench/network.py [ROUNDS]`. The script re-runs itself in a network
and mount namespace of its own, so every bridge, veth, firewall table and server it makes
lives and dies there; nothing touches the host's network.
"""

import json
import os
import pwd
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import airlock_binary, alternate, machine, require, summarize

INNER = "AIRLOCK_BENCH_NETWORK_INNER"
TEST_USER = "airlock-test"
SECONDS = 5
# iperf3 runs per path, alternated.
THROUGHPUT_ROUNDS = 9

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
airlock = airlock_binary()
require("ip", "nft", "iperf3", "unshare", "pasta", "slirp4netns", "setpriv")

if os.environ.get(INNER) is None:
    # Everything below happens in a network and mount namespace of the benchmark's own.
    env = dict(os.environ, **{INNER: "1", "AIRLOCK_BIN": airlock})
    argv = ["unshare", "--net", "--mount", "--propagation", "private", "--", sys.executable, *sys.argv]
    sys.exit(subprocess.run(argv, env=env).returncode)


def sh(script: str) -> None:
    subprocess.run(["sh", "-euc", script], check=True)


# The stand-in for the host: loopback, a private /run, and an "upstream" namespace behind a
# veth pair with the default route, as pasta wants a host interface to copy.
sh("""
ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /run
ip netns add up
ip link add up0 type veth peer name up1 netns up
ip addr add 10.200.0.1/24 dev up0
ip link set up0 up
ip -n up addr add 10.200.0.2/24 dev up1
ip -n up link set up1 up
ip -n up link set lo up
ip route add default via 10.200.0.2
""")

# The iproute2 + nft equivalent of a bridged sandbox with one published port.
IPROUTE2 = """
ip netns add bench
ip link add bench0 type veth peer name eth0 netns bench
ip addr add 10.77.0.1/24 dev bench0
ip link set bench0 up
ip -n bench addr add 10.77.0.2/24 dev eth0
ip -n bench link set eth0 up
ip -n bench link set lo up
ip -n bench route add default via 10.77.0.1
"""
NFT = """
nft -f - <<'EOF'
table ip bench {
    chain prerouting { type nat hook prerouting priority -100; tcp dport 8080 dnat to 10.77.0.2:80; }
    chain output { type nat hook output priority -100; tcp dport 8080 dnat to 10.77.0.2:80; }
}
EOF
"""
RUN = "ip netns exec bench /bin/true\n"
TEARDOWN = "nft delete table ip bench\nip link del bench0\nip netns del bench\n"
TEARDOWN_IPROUTE2 = "ip link del bench0\nip netns del bench\n"

commands = {
    "airlock run --net bridge -p 8080:80": [airlock, "run", "--net", "bridge", "--publish", "8080:80", "--", "/bin/true"],
    "iproute2 + nft script": ["sh", "-euc", IPROUTE2 + NFT + RUN + TEARDOWN],
    "iproute2 part alone": ["sh", "-euc", IPROUTE2 + RUN + TEARDOWN_IPROUTE2],
}


def iperf(client: list[str], server: list[str], address: str) -> float:
    """Runs a one-shot iperf3 server at `address` and one client against it; returns Gbit/s."""
    # Server and client each on a CPU of their own, the same for every path: left to the
    # scheduler, one run differs from the next by a fifth on a machine of two CPUs.
    server_process = subprocess.Popen(server + ["iperf3", "-A", "0", "-s", "-1", "-B", address], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            argv = client + ["iperf3", "-A", "1", "-J", "-t", str(SECONDS), "-c", address]
            result = subprocess.run(argv, capture_output=True, text=True, timeout=SECONDS + 20)
            report = json.loads(result.stdout) if result.stdout.startswith("{") else {}
            if result.returncode == 0 and "sum_received" in report.get("end", {}):
                return report["end"]["sum_received"]["bits_per_second"] / 1e9
            # The server may not listen yet.
            time.sleep(0.1)
        sys.exit(f"iperf3 client failed: {result.stdout}{result.stderr}")
    finally:
        server_process.kill()
        server_process.wait()


# Sets IFLA_GSO_IPV4_MAX_SIZE, which the `ip` of Debian 12 cannot: `LINK BYTES`.
SEGMENT_SIZE = """
import socket, struct, sys
body = struct.pack("BxHiII", 0, 0, socket.if_nametoindex(sys.argv[1]), 0, 0)
body += struct.pack("HHI", 8, 63, int(sys.argv[2]))
netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
netlink.send(struct.pack("IHHII", 16 + len(body), 16, 0x5, 1, 0) + body)
if struct.unpack("i", netlink.recv(4096)[16:20])[0] != 0:
    sys.exit("cannot set the segment size of " + sys.argv[1])
"""


def as_user(argv: list[str]) -> list[str]:
    user = pwd.getpwnam(TEST_USER)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"] + argv


# The namespace's shell waits (bounded) for slirp4netns to configure the default route.
SLIRP = """
unshare --user --map-root-user --net sh -euc '
for _ in $(seq 100); do ip route | grep -q default && exec "$@"; sleep 0.05; done
echo "slirp4netns configured nothing" >&2; exit 1' - "$@" &
namespace=$!
slirp4netns --configure --mtu=65520 --disable-host-loopback $namespace tap0 >/dev/null &
slirp=$!
status=0
wait $namespace || status=$?
kill $slirp
exit $status
"""

state = tempfile.mkdtemp(prefix="airlock-bench-")
os.chmod(state, 0o755)
os.environ["AIRLOCK_STATE_DIR"] = os.path.join(state, "state")
try:
    startup = alternate(commands, rounds)

    # Throughput over the bridge: the host side serves at the bridge's gateway address,
    # against the same over a veth pair between two plain namespaces.
    subprocess.run([airlock, "net", "create", "perf", "--subnet", "10.78.0.0/24"], check=True, stdout=subprocess.DEVNULL)
    # Two pairs of namespaces "a"-"b" and "c"-"d": server at 10.79.N.1, client at .2.
    for number, (server, client) in enumerate((("a", "b"), ("c", "d"))):
        sh(f"""
ip netns add {server}
ip netns add {client}
ip -n {server} link add v{server} type veth peer name v{client} netns {client}
ip -n {server} addr add 10.79.{number}.1/24 dev v{server}
ip -n {client} addr add 10.79.{number}.2/24 dev v{client}
ip -n {server} link set v{server} up
ip -n {client} link set v{client} up
""")
    for namespace in ("c", "d"):
        subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", SEGMENT_SIZE, f"v{namespace}", "196608"], check=True)
    veth = "two netns joined by a veth pair"
    big_veth = "the same with 192 KiB IPv4 packets"
    bridge: dict[str, list[float]] = {"airlock bridge, sandbox to host": [], veth: [], big_veth: []}
    for _ in range(THROUGHPUT_ROUNDS):
        bridge["airlock bridge, sandbox to host"].append(
            iperf([airlock, "run", "--net", "bridge:perf", "--"], [], "10.78.0.1"))
        bridge[veth].append(iperf(["ip", "netns", "exec", "b"], ["ip", "netns", "exec", "a"], "10.79.0.1"))
        bridge[big_veth].append(iperf(["ip", "netns", "exec", "d"], ["ip", "netns", "exec", "c"], "10.79.1.1"))

    # Rootless: both reach a server upstream through user-mode networking.
    user_state = os.path.join(state, "user")
    os.mkdir(user_state)
    os.chown(user_state, pwd.getpwnam(TEST_USER).pw_uid, pwd.getpwnam(TEST_USER).pw_gid)
    rootless: dict[str, list[float]] = {"airlock --net user (pasta)": [], "unshare + slirp4netns": []}
    up = ["ip", "netns", "exec", "up"]
    for _ in range(THROUGHPUT_ROUNDS):
        rootless["airlock --net user (pasta)"].append(
            iperf(as_user(["env", f"AIRLOCK_STATE_DIR={user_state}", airlock, "run", "--net", "user", "--"]), up, "10.200.0.2"))
        rootless["unshare + slirp4netns"].append(
            iperf(as_user(["sh", "-euc", SLIRP, "-"]), up, "10.200.0.2"))
finally:
    subprocess.run([airlock, "net", "rm", "perf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["rm", "-rf", state])


def gbits(samples: dict[str, list[float]], baseline: str) -> str:
    base = statistics.median(samples[baseline])
    lines = ["| path | median (Gbit/s) | ratio to " + baseline + " |", "|---|---|---|"]
    for name, values in samples.items():
        lines.append(f"| {name} | {statistics.median(values):.2f} | {statistics.median(values) / base:.2f} |")
    return "\n".join(lines)


print(f"Networking, {rounds} alternated rounds and {THROUGHPUT_ROUNDS} alternated iperf3 runs of {SECONDS} s on {machine()}\n")
print(summarize(startup, "iproute2 + nft script"))
print()
print(gbits(bridge, veth))
print()
print(gbits(rootless, "unshare + slirp4netns"))
