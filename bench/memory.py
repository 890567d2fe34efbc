#!/usr/bin/env python3
"""Resident memory of airlock's own processes while the payload sleeps, against bubblewrap's.

Counts the supervisor and init for airlock and the two bubblewrap processes (the outer one
and the PID 1 inside), as VmRSS; the sleeping payload is not counted for either.
Run as root: `python3 bench/memory.py`.
"""

import os
import subprocess
import time

from benchlib import airlock_binary, children, machine, require, rss_kib

require("bwrap")
airlock = airlock_binary()


def measure(argv: list[str]) -> tuple[int, list[int]]:
    """Start argv (whose payload is `sleep`), return the RSS total of its own two processes."""
    process = subprocess.Popen(argv)
    try:
        own = [process.pid]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            first = children(process.pid)
            if first and children(first[0]):
                own.append(first[0])
                break
            time.sleep(0.05)
        time.sleep(0.5)
        sizes = [rss_kib(pid) for pid in own]
        return sum(sizes), sizes
    finally:
        process.kill()
        process.wait()


airlock_total, airlock_parts = measure([airlock, "run", "--", "sleep", "30"])
bwrap_total, bwrap_parts = measure(["bwrap", "--unshare-all", "--die-with-parent", "--proc", "/proc", "--dev", "/dev",
                                    "--ro-bind", "/", "/", "sleep", "30"])
print(f"Resident memory while the payload sleeps, on {machine()}\n")
print("| tool | processes (KiB) | total (KiB) |")
print("|---|---|---|")
print(f"| airlock | supervisor {airlock_parts[0]}, init {airlock_parts[1] if len(airlock_parts) > 1 else '?'} | {airlock_total} |")
print(f"| bwrap | outer {bwrap_parts[0]}, PID 1 {bwrap_parts[1] if len(bwrap_parts) > 1 else '?'} | {bwrap_total} |")
print(f"\nratio airlock / bwrap: {airlock_total / bwrap_total:.2f}")
