"""Host keys pinned per instance id (an address changes on stop/start; the machine does not).

Trust comes, in order, from: a key pinned earlier; the fingerprints the machine printed on its
console at first boot (cloud-init's block, which EC2's console output shows with each line
prefixed ``ec2: ``); else the key seen at the first connection. A key that differs from the
pinned one, or that the console contradicts, is refused. Checking is never skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import asyncssh

from ..json_files import read_json, write_json

_FINGERPRINT = re.compile(r"\b(SHA256:[A-Za-z0-9+/]+)=*")
_BEGIN = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
_END = "-----END SSH HOST KEY FINGERPRINTS-----"


class HostKeyChanged(Exception):
    """The machine offered a host key other than the one we trust for it: refused."""

    def __init__(self, instance_id: str, reason: str = "") -> None:
        self.instance_id = instance_id
        what = reason or "changed since it was pinned"
        super().__init__(
            f"Refused to connect: the SSH host key of {instance_id} {what}. Someone may be "
            "intercepting the connection, or the machine was rebuilt. If you rebuilt it, run "
            f"`jupyter cloudlab forget-host-key {instance_id}` and connect again."
        )


def console_fingerprints(console_output: str) -> set[str]:
    """SHA256 host-key fingerprints from cloud-init's console block(s).

    Accepts EC2's form (``ec2: `` before each line, CRLF line ends) and the plain one. Only the
    last block counts: after a rebuild the console shows the newest keys last.
    """
    blocks: list[set[str]] = []
    current: set[str] | None = None
    for raw in console_output.splitlines():
        line = raw.strip()
        if line.startswith("ec2:"):
            line = line[4:].strip()
        if line == _BEGIN:
            current = set()
        elif line == _END and current is not None:
            blocks.append(current)
            current = None
        elif current is not None:
            current.update(_FINGERPRINT.findall(line))
    return blocks[-1] if blocks else set()


def fingerprint(key: asyncssh.SSHKey) -> str:
    """``SHA256:...`` without base64 padding, as OpenSSH and cloud-init print it."""
    return str(key.get_fingerprint("sha256")).rstrip("=")


class HostKeyStore:
    """A JSON file of our own (not ~/.ssh/known_hosts): instance id -> OpenSSH public key line."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, str]:
        data: dict[str, str] = read_json(self._path) or {}
        return data

    def _write(self, data: dict[str, str]) -> None:
        write_json(self._path, data)

    def pinned(self, instance_id: str) -> asyncssh.SSHKey | None:
        line = self._read().get(instance_id)
        return asyncssh.import_public_key(line) if line else None

    def pin(self, instance_id: str, key: asyncssh.SSHKey) -> None:
        data = self._read()
        data[instance_id] = key.export_public_key().decode().strip()
        self._write(data)

    def forget(self, instance_id: str) -> bool:
        data = self._read()
        if data.pop(instance_id, None) is None:
            return False
        self._write(data)
        return True

    def verify(self, instance_id: str, key: asyncssh.SSHKey, console_output: str) -> bool:
        """Whether `key` is this instance's host key; pins it on first trust.

        Raises HostKeyChanged when the key contradicts the pinned key or the console.
        """
        pinned = self.pinned(instance_id)
        if pinned is not None:
            if pinned.export_public_key() != key.export_public_key():
                raise HostKeyChanged(instance_id)
            return True
        expected = console_fingerprints(console_output)
        if expected and fingerprint(key) not in expected:
            raise HostKeyChanged(
                instance_id, "is not one of those its console printed at first boot"
            )
        self.pin(instance_id, key)
        return True
