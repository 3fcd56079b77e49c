"""CPU time of the bench's processes, split into the laptop's side and the machine's side.

Here everything runs on one host, so a machine kernel's path pays for both sides out of the same
cores; on AWS the machine's side (its sshd, the machine's jupyter server and kernels) runs on the
machine. Split by side, the CPU shows what the laptop pays for each path: a figure that does not
depend on how many cores this host has.

A sandbox machine's processes carry its marker in their environment (what its sshd starts, even
once detached as a service), or share their mount namespace (an OpenSSH sshd and its sessions);
the laptop's are the bench and everything under it. The host's other processes are left out.
CPU time is the scheduler's (nanoseconds, every thread); the bench's own reading of /proc is
kept out of the spans it measures.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

from jupyter_cloudlab.sandbox.machine_host import MACHINE_ENV_MARKER

LAPTOP, MACHINE = "laptop", "machine"


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return int(stat[stat.rindex(b")") + 2 :].split()[1])  # proc(5) field 4, after the state


def _marked(pid: int, marker: bytes) -> bool:
    return marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")


def sides_of_processes(instance_id: str) -> dict[int, str]:
    """pid -> side for the bench's processes and those of the sandbox machine ``instance_id``."""
    marker = f"{MACHINE_ENV_MARKER}={instance_id}".encode()
    parents, mount_ns, marked = {}, {}, set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        pid = int(entry)
        try:
            mount_ns[pid] = os.readlink(f"/proc/{pid}/ns/mnt")
            parents[pid] = _parent(pid)
            if _marked(pid, marker):
                marked.add(pid)
        except OSError:  # exited meanwhile
            parents.pop(pid, None)
    # The sshd and its sessions carry no marker (only what they start does): their namespace.
    machine_ns = {mount_ns[pid] for pid in marked} - {os.readlink("/proc/self/ns/mnt")}
    sides = {pid: MACHINE for pid in parents if pid in marked or mount_ns[pid] in machine_ns}
    me = os.getpid()
    for pid in parents:
        ancestor = pid
        while pid not in sides and ancestor > 1:
            if ancestor == me:
                sides[pid] = LAPTOP
            ancestor = parents.get(ancestor, 0)
    return sides


def _cpu_seconds(pid: int) -> float:
    """On-CPU time of all of a process's threads so far (raises OSError once it exited)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_bytes().split()[0])
        except OSError:  # a thread that ended meanwhile
            continue
    return total / 1e9


class CpuBySide:
    """CPU seconds per side, summed over the spans between each :meth:`start` and :meth:`stop`.

    The processes are those found at :meth:`start`."""

    def __init__(self, instance_id: str) -> None:
        self._instance_id = instance_id
        self._sides: dict[int, str] = {}
        self._before: dict[int, float] = {}
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def _read(self, own: float | None = None) -> dict[int, float]:
        me, readings = os.getpid(), {}
        for pid in self._sides:
            if pid != me:
                try:
                    readings[pid] = _cpu_seconds(pid)
                except OSError:
                    continue
        readings[me] = time.process_time() if own is None else own
        return readings

    def start(self) -> None:
        self._sides = sides_of_processes(self._instance_id)
        self._before = self._read()  # the bench's own time read last: the scan stays outside

    def stop(self) -> None:
        after = self._read(own=time.process_time())  # and first here
        for pid, seconds in after.items():
            if pid in self._before:
                self.seconds[self._sides[pid]] += seconds - self._before[pid]
