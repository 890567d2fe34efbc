#!/usr/bin/env python3
"""What cgroup limits cost at start-up: `airlock run --memory 256M --pids 100 --cpus 1 --
/bin/true` against the same run without limits, alternated in one run.

The limits need three cgroups here (memory, pids and cpu on cgroup v1, or one on cgroup
v2), created before the sandbox and removed after it. Run as root:
`python3 bench/limits.py [ROUNDS]`.
"""

import sys

from benchlib import airlock_binary, alternate, machine, summarize

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
airlock = airlock_binary()

commands = {
    "airlock with limits": [airlock, "run", "--memory", "256M", "--pids", "100", "--cpus", "1", "--", "/bin/true"],
    "airlock": [airlock, "run", "--", "/bin/true"],
}
samples = alternate(commands, rounds)
print(f"Start-up with cgroup limits, {rounds} alternated rounds on {machine()}\n")
print(summarize(samples, "airlock"))
