"""The processes of this host, from /proc: what the tests check was started or ended (a sandbox
machine's sshd and its sessions, a forward that must not outlive its server)."""

from __future__ import annotations

import os
from pathlib import Path


def processes_with(text: str) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every live (not zombie) process whose command line
    contains `text`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state, ppid = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append((int(entry), int(ppid), cmdline.strip()))
    return found


def sshd_of_machine(machine_dir: Path | str) -> tuple[int, list[int]]:
    """The sandbox machine's listening sshd and its per-connection sshd processes (any depth).

    ``machine_dir``: the machine's folder, or any part of its path that names it uniquely
    (e.g. ``/machines/<instance id>/``): its sshd's config lives there.
    """
    procs = processes_with("sshd")
    [master] = [pid for pid, _, cmd in procs if str(machine_dir) in cmd]
    sessions: list[int] = []
    parents = {master}
    while True:
        children = [pid for pid, ppid, cmd in procs if ppid in parents and pid not in sessions]
        if not children:
            return master, sessions
        sessions.extend(children)
        parents = set(children)
