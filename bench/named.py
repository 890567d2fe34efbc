#!/usr/bin/env python3
"""Named sandboxes: entering one, what an idle one costs the host, and many at once.

- `airlock exec NAME -- /bin/true` against `nsenter -t PID -a /bin/true` on the same
  sandbox, alternated in one run (nsenter joins the namespaces and nothing else; airlock
  also applies the sandbox's ids, capabilities, seccomp filter, Landlock rules and cgroups).
- Resident memory of each idle sandbox's supervisor and init.
- The time to create COUNT sandboxes one after the other, to list them and to remove them.

Run as root: `python3 bench/named.py [ROUNDS] [COUNT]`. It uses a state directory of its
own and removes every sandbox it made.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import airlock_binary, alternate, machine, require, rss_kib, summarize

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
airlock = airlock_binary()
require("nsenter")

state = tempfile.mkdtemp(prefix="airlock-bench-")
os.environ["AIRLOCK_STATE_DIR"] = os.path.join(state, "state")


def airlock_json(*args: str):
    return json.loads(subprocess.run([airlock, *args], check=True, capture_output=True, text=True).stdout)


def remove_all() -> None:
    names = [entry["name"] for entry in airlock_json("ls", "--json")]
    if names:
        subprocess.run([airlock, "rm", "--force", *names], check=True, stdout=subprocess.DEVNULL)


try:
    # Entering a sandbox.
    subprocess.run([airlock, "create", "bench", "--", "sleep", "infinity"], check=True, stdout=subprocess.DEVNULL)
    init = airlock_json("inspect", "--json", "bench")["init"]["pid"]
    commands = {
        "airlock exec": [airlock, "exec", "bench", "--", "/bin/true"],
        "nsenter -a": ["nsenter", "-t", str(init), "-a", "/bin/true"],
    }
    samples = alternate(commands, rounds)
    remove_all()

    # Many sandboxes: creation, listing, memory of the idle ones, removal.
    start = time.perf_counter()
    for index in range(count):
        subprocess.run([airlock, "create", f"s{index}", "--", "sleep", "infinity"], check=True, stdout=subprocess.DEVNULL)
    created = time.perf_counter() - start
    start = time.perf_counter()
    listing = airlock_json("ls", "--json")
    listed = time.perf_counter() - start
    running = sum(1 for entry in listing if entry["state"] == "running")
    memory = []
    for index in range(count):
        record = airlock_json("inspect", "--json", f"s{index}")
        memory.append(rss_kib(record["supervisor"]["pid"]) + rss_kib(record["init"]["pid"]))
    start = time.perf_counter()
    remove_all()
    removed = time.perf_counter() - start
finally:
    remove_all()
    subprocess.run(["rm", "-rf", state], check=True)

print(f"Named sandboxes, {rounds} alternated rounds and {count} sandboxes on {machine()}\n")
print(summarize(samples, "nsenter -a"))
print()
print("| measure | value |")
print("|---|---|")
print(f"| sandboxes running at once | {running} of {count} |")
print(f"| time to create them one after the other | {created:.2f} s ({created / count * 1000:.1f} ms each) |")
print(f"| `airlock ls` over all of them | {listed * 1000:.1f} ms |")
print(f"| `airlock rm --force` of all of them | {removed:.2f} s |")
print(f"| resident memory per idle sandbox (supervisor + init), median | {statistics.median(memory)} KiB |")
print(f"| the same, largest | {max(memory)} KiB |")
