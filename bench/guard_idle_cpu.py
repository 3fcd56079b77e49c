"""CPU of the machine's guard while the machine is idle: a machine server configured as the
bootstrap configures one, with and without the guard, each left alone for a minute; the process's
CPU time (user + system, every thread) over that minute, as % of one core. Interleaved and
repeated (2-core hosts are noisy); prints the medians and their difference: the guard's cost.

    python -m bench.guard_idle_cpu [seconds] [repeats]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.machine_server import start_machine_server


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu_percent(guard: dict | None, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as root:
        server = start_machine_server(Path(root), guard=guard)
        try:
            time.sleep(5)  # past the start
            before, started = cpu_seconds(server.process.pid), time.monotonic()
            time.sleep(seconds)
            used = cpu_seconds(server.process.pid) - before
            return 100 * used / (time.monotonic() - started)
        finally:
            server.stop()


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    # As on a machine: 5 s ticks, spot notices polled every 5 s (from a folder: no EC2 here),
    # nvidia-smi absent; the power-off command never runs (idle limit 0: off).
    guard = {"idle_minutes": 0, "imds_url": "file:~/.sandbox-imds"}
    with_guard, without = [], []
    for _ in range(repeats):
        without.append(idle_cpu_percent(None, seconds))
        with_guard.append(idle_cpu_percent(guard, seconds))
    a, b = statistics.median(with_guard), statistics.median(without)
    print(
        f"idle machine server, {seconds:.0f} s x {repeats}: with guard {a:.3f}% of a core, "
        f"without {b:.3f}%, guard's cost {a - b:.3f}%"
    )


if __name__ == "__main__":
    main()
