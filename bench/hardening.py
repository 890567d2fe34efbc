#!/usr/bin/env python3
"""What the hardened default costs at start-up: `airlock run -- /bin/true` with its default
seccomp filter and Landlock rules, against the same run with both off, and bubblewrap.

The hardened run names its defaults (`--seccomp default --landlock auto`), so that both
airlock runs parse options; a run without any option skips the parser, which would count
as a cost of hardening otherwise. The plain run is measured too, for the ratio to
bubblewrap. Capabilities are dropped in every airlock run; there is no option to keep them
all. Run as root: `python3 bench/hardening.py [ROUNDS]`.
"""

import statistics
import sys

from benchlib import airlock_binary, alternate, machine, require, summarize

require("bwrap")
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
airlock = airlock_binary()

commands = {
    "airlock": [airlock, "run", "--", "/bin/true"],
    "airlock-hardened": [airlock, "run", "--seccomp", "default", "--landlock", "auto", "--", "/bin/true"],
    "airlock-unhardened": [airlock, "run", "--seccomp", "unconfined", "--landlock", "off", "--", "/bin/true"],
    "bwrap": ["bwrap", "--unshare-all", "--die-with-parent", "--proc", "/proc", "--dev", "/dev",
              "--ro-bind", "/", "/", "/bin/true"],
}
samples = alternate(commands, rounds)
print(f"Hardening cost, {rounds} alternated rounds on {machine()}\n")
print(summarize(samples, "bwrap"))
added = statistics.median(samples["airlock-hardened"]) - statistics.median(samples["airlock-unhardened"])
print(f"\nseccomp + Landlock add {added:.2f} ms to the median")
