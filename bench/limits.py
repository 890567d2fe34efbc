#!/usr/bin/env python3
"""What cgroup limits cost at start-up: `airlock run --memory 256M --pids 100 --cpus 1 --
/bin/true` against the same run without limits, alternated in one run.

The limits need three cgroups here (memory, pids and cpu on cgroup v1, or one on cgroup
v2), created while the sandbox builds its mounts and removed after it. A run without any
option skips the option parser, which the run with limits cannot do. So the run without
limits is also measured with an option that changes nothing (`--hostname airlock`, the
default), and its difference to the run with limits is what the limits alone cost. Run as
root: `python3 bench/limits.py [ROUNDS]`.
"""

import statistics
import sys

from benchlib import airlock_binary, alternate, machine, summarize

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
airlock = airlock_binary()

commands = {
    "airlock with limits": [airlock, "run", "--memory", "256M", "--pids", "100", "--cpus", "1", "--", "/bin/true"],
    "airlock": [airlock, "run", "--", "/bin/true"],
    "airlock, parsed": [airlock, "run", "--hostname", "airlock", "--", "/bin/true"],
}
samples = alternate(commands, rounds)
print(f"Start-up with cgroup limits, {rounds} alternated rounds on {machine()}\n")
print(summarize(samples, "airlock"))
limits = statistics.median(samples["airlock with limits"]) / statistics.median(samples["airlock, parsed"])
print(f"\nratio of the run with limits to the same run through the parser: {limits:.2f}")
