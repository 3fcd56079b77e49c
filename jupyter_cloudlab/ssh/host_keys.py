"""Host keys pinned per instance id (an address changes on stop/start; the machine does not).

Trust comes, in order, from: a key pinned earlier; the fingerprints the machine printed on its
console at first boot (as cloud-init does); else the key seen at the first connection. A key that
differs from the pinned one is refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import asyncssh

_FINGERPRINT = re.compile(r"\b(SHA256:[A-Za-z0-9+/=]+)")
_BLOCK = re.compile(
    r"-----BEGIN SSH HOST KEY FINGERPRINTS-----(.*?)-----END SSH HOST KEY FINGERPRINTS-----",
    re.DOTALL,
)


class HostKeyChanged(Exception):
    def __init__(self, instance_id: str) -> None:
        super().__init__(
            f"The SSH host key of {instance_id} changed since it was pinned. Someone may be "
            "intercepting the connection, or the machine was rebuilt. If you rebuilt it, run "
            f"`jupyter cloudlab forget-host-key {instance_id}` and connect again."
        )


def console_fingerprints(console_output: str) -> set[str]:
    """SHA256 host key fingerprints from a cloud-init style console block."""
    block = _BLOCK.search(console_output)
    return set(_FINGERPRINT.findall(block.group(1))) if block else set()


class HostKeyStore:
    """A JSON file: instance id -> OpenSSH public key line."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, str]:
        if not self._path.exists():
            return {}
        data: dict[str, str] = json.loads(self._path.read_text())
        return data

    def pinned(self, instance_id: str) -> asyncssh.SSHKey | None:
        line = self._read().get(instance_id)
        return asyncssh.import_public_key(line) if line else None

    def pin(self, instance_id: str, key: asyncssh.SSHKey) -> None:
        data = self._read()
        data[instance_id] = key.export_public_key().decode().strip()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text(json.dumps(data, indent=1, sort_keys=True))

    def forget(self, instance_id: str) -> bool:
        data = self._read()
        if data.pop(instance_id, None) is None:
            return False
        self._path.write_text(json.dumps(data, indent=1, sort_keys=True))
        return True

    def verify(self, instance_id: str, key: asyncssh.SSHKey, console_output: str) -> bool:
        """Whether `key` is this instance's host key; pins it on first trust."""
        pinned = self.pinned(instance_id)
        if pinned is not None:
            if pinned.export_public_key() != key.export_public_key():
                raise HostKeyChanged(instance_id)
            return True
        expected = console_fingerprints(console_output)
        if expected and key.get_fingerprint("sha256") not in expected:
            return False
        self.pin(instance_id, key)
        return True
