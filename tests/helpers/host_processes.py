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


def tcp_listeners(pid: int) -> set[tuple[str, int]]:
    """(local address, port) of every TCP socket that process ``pid`` listens on (its open
    sockets from /proc/<pid>/fd, matched to /proc/<pid>/net/tcp{,6} by inode)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, _, port = fields[1].partition(":")
            if fields[3] == "0A" and fields[9] in inodes:
                found.add((address, int(port, 16)))
    return found


def unix_listeners(pid: int) -> set[str]:
    """Paths of the Unix sockets that process ``pid`` listens on (/proc/<pid>/net/unix)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for line in Path(f"/proc/{pid}/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        # Num RefCount Protocol Flags Type St Inode Path; flags 00010000: listening
        if len(fields) >= 8 and fields[6] in inodes and int(fields[3], 16) & 0x10000:
            found.add(fields[7])
    return found
