"""Shared helpers for airlock's benchmarks: alternated timing runs and memory readings.

Every benchmark runs the commands it compares in one process, alternating them round by
round (A, B, C, A, B, C, ...), so that drift in the machine's load hits each equally.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE_BINARY = ROOT / "target" / "x86_64-unknown-linux-gnu" / "release" / "airlock"


def airlock_binary() -> str:
    """Build airlock in release mode (once) and return the binary's path."""
    override = os.environ.get("AIRLOCK_BIN")
    if override:
        return override
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return str(RELEASE_BINARY)


def require(*programs: str) -> None:
    """Exit with a clear message when a program the benchmark compares against is missing."""
    missing = [program for program in programs if shutil.which(program) is None]
    if missing:
        sys.exit(f"missing programs: {', '.join(missing)} (run .ci/setup as root to install them)")


def time_once(argv: list[str]) -> float:
    """Run argv once with its output discarded; return the wall time in milliseconds."""
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    start = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter_ns() - start
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark command failed with status {os.waitstatus_to_exitcode(status)}: {' '.join(argv)}")
    return elapsed / 1e6


def alternate(commands: dict[str, list[str]], rounds: int, warmup: int = 10) -> dict[str, list[float]]:
    """Time each command `rounds` times, alternating between them; returns the samples in ms."""
    for _ in range(warmup):
        for argv in commands.values():
            time_once(argv)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            samples[name].append(time_once(argv))
    return samples


def summarize(samples: dict[str, list[float]], baseline: str) -> str:
    """Render a markdown table of medians and ratios to `baseline`."""
    base = statistics.median(samples[baseline])
    lines = ["| command | median (ms) | p90 (ms) | ratio to " + baseline + " |", "|---|---|---|---|"]
    for name, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        lines.append(f"| {name} | {median:.2f} | {p90:.2f} | {median / base:.2f} |")
    return "\n".join(lines)


def rss_kib(pid: int) -> int:
    """Resident memory of one process in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    result = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        result.extend(int(child) for child in text.split())
    return result


def machine() -> str:
    """One line that says what machine the numbers come from."""
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    kernel = os.uname().release
    return f"{os.cpu_count()} CPUs ({cpu}), kernel {kernel}"
