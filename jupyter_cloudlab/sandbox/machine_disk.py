"""The on-disk side of a sandbox machine, shared by every MachineHost.

Both hosts (the in-process asyncssh one and the real-sshd one) must lay the disk out the same way,
print the same console output and cut power the same way, so those pieces live here once.
See ``machine_host`` for the layout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import time
from pathlib import Path

import asyncssh

from .machine_host import MACHINE_ENV_MARKER

HOST_KEY_NAME = "ssh_host_ed25519_key"
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
FINGERPRINTS_BEGIN = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
FINGERPRINTS_END = "-----END SSH HOST KEY FINGERPRINTS-----"
KEYS_BEGIN = "-----BEGIN SSH HOST KEY KEYS-----"
KEYS_END = "-----END SSH HOST KEY KEYS-----"
_INSTANCE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


class MachineDisk:
    """Paths and first-boot chores of one machine's directory."""

    def __init__(self, root_dir: Path, instance_id: str) -> None:
        if not _INSTANCE_ID.fullmatch(instance_id) or instance_id in (".", ".."):
            raise ValueError(f"not a usable instance id: {instance_id!r}")
        self.instance_id = instance_id
        self.path = Path(root_dir) / instance_id
        self.etc = self.path / "etc"
        self.run = self.path / "run"
        """Per-boot scratch space (server config, pid file, logs); remade at each power-on."""
        self.console_log = self.path / "console.log"
        self.host_key_path = self.etc / HOST_KEY_NAME

    def home(self, ssh_user: str) -> Path:
        # It goes into a passwd line and sshd_config: a plain POSIX user name only.
        if not _USER_NAME.fullmatch(ssh_user):
            raise ValueError(f"not a usable user name: {ssh_user!r}")
        return self.path / "home" / ssh_user

    def prepare(self, ssh_user: str, authorized_key: str) -> Path:
        """Make the home, install the key pair's key and the host key; return the home.

        The key is added, not overwritten, so keys the user put there themselves survive a reboot,
        as on EC2 where cloud-init only appends.
        """
        home = self.home(ssh_user)
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(parents=True, exist_ok=True)
        ssh_dir.chmod(0o700)
        add_authorized_key(ssh_dir / "authorized_keys", authorized_key)
        self.etc.mkdir(parents=True, exist_ok=True)
        self.ensure_host_key()
        if self.run.exists():
            shutil.rmtree(self.run)
        self.run.mkdir(mode=0o700)
        return home

    def ensure_host_key(self) -> asyncssh.SSHKey:
        """Load the host key, generating it (and the console output) at first boot only.

        The key must stay the same across stop/start: clients pin it per instance id.
        """
        if self.host_key_path.exists():
            key = asyncssh.read_private_key(str(self.host_key_path))
            if not self.console_log.exists():
                self.console_log.write_text(console_text(self.instance_id, key))
            return key
        key = asyncssh.generate_private_key("ssh-ed25519", comment=f"root@{self.instance_id}")
        tmp = self.host_key_path.with_suffix(".tmp")
        # sshd refuses a host key that others can read; create it private, never chmod after.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.export_private_key("openssh"))
        os.replace(tmp, self.host_key_path)
        key.write_public_key(str(self.host_key_path) + ".pub")
        self.console_log.write_text(console_text(self.instance_id, key))
        return key

    def console_output(self) -> str:
        try:
            return self.console_log.read_text()
        except FileNotFoundError:
            return ""

    def destroy(self) -> None:
        for folder in self.server_socket_folders():
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self.path, ignore_errors=True)

    def server_socket_folders(self) -> list[Path]:
        """The folders outside the disk where its machine servers keep their sockets: a home
        too deep for a socket path gets a private cloudlab-* folder in /tmp (the bootstrap's
        marker says which); a terminated machine's must go with its disk."""
        found = []
        for marker in self.path.glob("home/*/.cloudlab/state.json"):
            try:
                socket_path = json.loads(marker.read_text()).get("socket")
            except (OSError, ValueError, AttributeError):
                continue
            if not isinstance(socket_path, str):
                continue
            folder = Path(socket_path).parent
            if folder.name.startswith("cloudlab-") and not folder.is_relative_to(self.path):
                with contextlib.suppress(OSError):
                    info = folder.lstat()
                    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
                        found.append(folder)
        return found


def add_authorized_key(path: Path, key_line: str) -> None:
    """Append ``key_line`` to an authorized_keys file unless the same key is already there."""
    key_line = key_line.strip()
    if not key_line or "\n" in key_line:
        raise ValueError("authorized_key must be a single public key line")
    wanted = key_line.split()[:2]
    existing = path.read_text() if path.exists() else ""
    if any(line.split()[:2] == wanted for line in existing.splitlines()):
        return
    if existing and not existing.endswith("\n"):
        existing += "\n"
    path.write_text(existing + key_line + "\n")
    path.chmod(0o600)


def console_text(instance_id: str, key: asyncssh.SSHKey) -> str:
    """What cloud-init prints on the serial console at first boot, reduced to what clients use."""
    public = key.export_public_key("openssh").decode().split()
    fingerprint = key.get_fingerprint("sha256")
    return "\n".join(
        [
            f"[    0.000000] Linux version sandbox ({instance_id})",
            f"Cloud-init v. sandbox running 'modules:final' for {instance_id}",
            FINGERPRINTS_BEGIN,
            f"256 {fingerprint} root@{instance_id} (ED25519)",
            FINGERPRINTS_END,
            KEYS_BEGIN,
            f"{public[0]} {public[1]} root@{instance_id}",
            KEYS_END,
            "",
        ]
    )


def machine_path(python_bin_dir: str | None) -> str:
    """PATH on the machine: the sandbox's Python first, so a bootstrap finds the same interpreter."""
    return f"{python_bin_dir}:{BASE_PATH}" if python_bin_dir else BASE_PATH


def marked_pids(instance_id: str, mount_ns: str | None = None) -> list[int]:
    """Pids of live processes carrying the machine's marker (or living in its mount namespace).

    Zombies have an empty environ and are skipped: they are already dead, only unreaped.
    """
    entry = f"{MACHINE_ENV_MARKER}={instance_id}".encode()
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        try:
            if mount_ns is not None and os.readlink(f"/proc/{pid}/ns/mnt") == mount_ns:
                if not _is_zombie(pid):
                    found.append(pid)
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if entry in environ.split(b"\0"):
            found.append(pid)
    return found


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] in (b"Z", b"X")


def kill_marked(instance_id: str, mount_ns: str | None = None, timeout: float = 5.0) -> list[int]:
    """Cut the machine's power: SIGKILL every marked process until none is left, or time runs out.

    Loops because a process may fork between the scan and the kill. Returns the pids still alive
    at the deadline (normally none). Blocking; it only reads /proc, so it is quick.
    """
    deadline = time.monotonic() + timeout
    while True:
        pids = marked_pids(instance_id, mount_ns)
        if not pids or time.monotonic() > deadline:
            return pids
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def free_loopback_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the caller must cope with losing a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
