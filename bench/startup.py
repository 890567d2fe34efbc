#!/usr/bin/env python3
"""Start-up time of `airlock run -- /bin/true` against bubblewrap and unshare.

bubblewrap gets the options that give it the same namespaces and a fresh /proc; unshare
gets -Urpfmniu with --mount-proc. airlock runs with its defaults: every namespace new, the
default filesystem view, the default seccomp filter, Landlock and no capabilities.
Run as root: `python3 bench/startup.py [ROUNDS]`.
"""

import sys

from benchlib import airlock_binary, alternate, machine, require, summarize

require("bwrap", "unshare")
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
airlock = airlock_binary()

commands = {
    "airlock": [airlock, "run", "--", "/bin/true"],
    "bwrap": ["bwrap", "--unshare-all", "--die-with-parent", "--proc", "/proc", "--dev", "/dev",
              "--ro-bind", "/", "/", "/bin/true"],
    "unshare": ["unshare", "-Urpfmniu", "--mount-proc", "/bin/true"],
}
samples = alternate(commands, rounds)
print(f"Start-up, {rounds} alternated rounds on {machine()}\n")
print(summarize(samples, "bwrap"))
