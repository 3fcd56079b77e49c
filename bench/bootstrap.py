"""Bootstrap time of a sandbox machine behind real OpenSSH sshd, by phase.

fresh:    an empty home and a Python without jupyter_server: makes ~/.cloudlab/venv and installs
          jupyter_server + ipykernel from this computer's package cache (pip's configured index).
prepared: the same machine after stop/start (every process gone, the disk kept).
Phases: connect (SSH up, host key checked), check (marker + environments), install, start (the
machine_server answers), ready (kernelspecs listed through the forward). Goals: fresh <= 30 s, prepared
<= 2 s from SSH connected to kernelspecs listed.

Usage (root, OpenSSH installed): python bench/bootstrap.py [--runs 3] [--python PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_cloudlab.ssh.bootstrap import BootstrapOptions, bootstrap
from tests.helpers.ssh_machines import Rig, base_python, machine_server_kernelspecs

PHASES = ("connect", "check", "install", "start", "ready")


async def measure(machine: Rig, options: BootstrapOptions) -> dict[str, float]:
    started = time.monotonic()
    connection = await machine.connect()
    connected = time.monotonic()
    machine_server = await bootstrap(connection, options)
    booted = time.monotonic()
    specs = await machine_server_kernelspecs(connection, machine_server)
    assert "python3" in specs
    done = time.monotonic()
    connection.close()
    remote = machine_server.phases
    return {
        "connect": connected - started,
        "check": remote.get("check", 0.0),
        "install": remote.get("install", 0.0),
        "start": remote.get("start", 0.0),
        "ready": done - booted,
        "ssh->specs": done - connected,
        "total": done - started,
    }


def show(name: str, runs: list[dict[str, float]]) -> None:
    columns = [*PHASES, "ssh->specs", "total"]
    cells = "  ".join(f"{c}={statistics.median(r[c] for r in runs):6.2f}s" for c in columns)
    print(f"{name:<9} (median of {len(runs)}) {cells}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=base_python(), help="the machine's bare Python")
    args = parser.parse_args()
    options = BootstrapOptions(python=args.python, env_roots=(), isolated=True)
    fresh, prepared = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            machine = Rig(Path(tmp), "ubuntu")
            try:
                await machine.power_on()
                fresh.append(await measure(machine, options))
                await machine.power_cycle()
                prepared.append(await measure(machine, options))
            finally:
                await machine.host.close()
    show("fresh", fresh)
    show("prepared", prepared)


if __name__ == "__main__":
    asyncio.run(main())
