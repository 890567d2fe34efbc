#!/usr/bin/env python3
"""Start-up time with a 20-grant mount plan, airlock against bubblewrap given the same grants.

The plan: /usr read-only with the merged-/usr links, eight files and directories of /etc
read-only, a tmpfs /tmp and /run, a fresh /proc and /dev, an empty /var/tmp, and two host
directories (one writable, one read-only). Both tools get new user, PID, mount, IPC, UTS,
cgroup and network namespaces. Run as root: `python3 bench/grants.py [ROUNDS]`.
"""

import sys
import tempfile

from benchlib import airlock_binary, alternate, machine, require, summarize

require("bwrap")
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
airlock = airlock_binary()

with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as data:
    grants = ["--ro-bind", "/usr", "/usr"]
    for link, target in [("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64")]:
        grants += ["--symlink", target, link]
    for entry in ["passwd", "group", "hosts", "resolv.conf", "nsswitch.conf", "ld.so.cache", "localtime", "ssl/certs"]:
        grants += ["--ro-bind", f"/etc/{entry}", f"/etc/{entry}"]
    grants += ["--tmpfs", "/tmp", "--tmpfs", "/run", "--proc", "/proc", "--dev", "/dev", "--dir", "/var/tmp"]
    grants += ["--bind", work, "/work", "--ro-bind", data, "/data"]
    count = grants.count("--ro-bind") + grants.count("--symlink") + grants.count("--tmpfs") + grants.count("--bind") \
        + grants.count("--proc") + grants.count("--dev") + grants.count("--dir")
    commands = {
        "airlock": [airlock, "run", *grants, "--", "/bin/true"],
        "bwrap": ["bwrap", "--unshare-all", "--die-with-parent", *grants, "/bin/true"],
    }
    samples = alternate(commands, rounds)
    print(f"Start-up with {count} grants, {rounds} alternated rounds on {machine()}\n")
    print(summarize(samples, "bwrap"))
