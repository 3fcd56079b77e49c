"""Host keys pinned per instance id (an address changes on stop/start; the machine does not).

Trust comes, in order, from: a key pinned earlier; a fingerprint the user checked on the machine
and pinned with `jupyter cloudlab trust-host-key`; the fingerprints the machine printed on its
console at first boot (cloud-init's block, which EC2's console output shows with each line
prefixed ``ec2: ``). A key that differs from the pinned one, or that the console contradicts, is
refused. Checking is never skipped: a first connection waits for the console's block
(machines/link.py), and is refused when it never comes.
"""

from __future__ import annotations

import re
from pathlib import Path

import asyncssh

from ..json_files import read_json, write_json

_FINGERPRINT = re.compile(r"\b(SHA256:[A-Za-z0-9+/]+)=*")
_TRUSTED = re.compile(r"SHA256:[A-Za-z0-9+/]{43}( SHA256:[A-Za-z0-9+/]{43})*")
_BEGIN = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
_END = "-----END SSH HOST KEY FINGERPRINTS-----"


class HostKeyChanged(Exception):
    """The machine offered a host key other than the one we trust for it: refused."""

    def __init__(self, instance_id: str, reason: str = "", message: str = "") -> None:
        self.instance_id = instance_id
        what = reason or "changed since it was pinned"
        super().__init__(
            message
            or f"Refused to connect: the SSH host key of {instance_id} {what}. Someone may be "
            "intercepting the connection, or the machine was rebuilt. If you rebuilt it, run "
            f"`jupyter cloudlab forget-host-key {instance_id}` and connect again."
        )


class HostKeyUnverified(HostKeyChanged):
    """No key is pinned for the machine and its console never showed its fingerprints.

    A HostKeyChanged, so a tunnel stops on it (refused) instead of retrying.
    """

    def __init__(self, instance_id: str, waited_seconds: float = 0) -> None:
        waited = ""
        if waited_seconds >= 60:
            waited = f" within {waited_seconds / 60:.0f} minutes"
        elif waited_seconds > 0:
            waited = f" within {waited_seconds:.0f} seconds"
        super().__init__(
            instance_id,
            message=f"Refused to connect: the console of {instance_id} has not shown its SSH "
            f"host key fingerprints{waited}, so its host key cannot be checked. Read the fingerprints on "
            "the machine another way (EC2 Instance Connect or Session Manager: `for k in "
            "/etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf $k; done`), give them to "
            f"`jupyter cloudlab trust-host-key {instance_id} SHA256:...`, then connect again "
            "(restart JupyterLab, or stop and start the machine).",
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
    """A JSON file of our own (not ~/.ssh/known_hosts): instance id -> OpenSSH public key line,
    or ``SHA256:...`` fingerprints (space-separated) the user trusts until a key is seen."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, str]:
        data: dict[str, str] = read_json(self._path) or {}
        return data

    def _write(self, data: dict[str, str]) -> None:
        write_json(self._path, data)

    def pinned(self, instance_id: str) -> asyncssh.SSHKey | None:
        line = self._read().get(instance_id)
        if not line or _TRUSTED.fullmatch(line):
            return None
        return asyncssh.import_public_key(line)

    def trusted_fingerprints(self, instance_id: str) -> set[str]:
        """Fingerprints pinned by the user (trust-host-key) while no key was seen yet."""
        line = self._read().get(instance_id)
        return set(line.split()) if line and _TRUSTED.fullmatch(line) else set()

    def knows(self, instance_id: str) -> bool:
        """Whether a key or fingerprints are pinned for the instance (no console needed)."""
        return instance_id in self._read()

    def trust(self, instance_id: str, fingerprints: list[str]) -> None:
        """Pin fingerprints the user read on the machine; the key offered is pinned when seen.

        Raises ValueError for a malformed fingerprint, or when another key is pinned already.
        """
        wanted = sorted({f.strip().rstrip("=") for f in fingerprints})
        line = " ".join(wanted)
        if not wanted or not _TRUSTED.fullmatch(line):
            raise ValueError(
                "Give the fingerprints as `ssh-keygen -lf` prints them: SHA256: and 43 characters."
            )
        pinned = self.pinned(instance_id)
        if pinned is not None:
            if fingerprint(pinned) in wanted:
                return
            raise ValueError(
                f"Another host key is pinned for {instance_id}: if the machine was rebuilt, run "
                f"`jupyter cloudlab forget-host-key {instance_id}` first."
            )
        data = self._read()
        data[instance_id] = line
        self._write(data)

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

        Raises HostKeyChanged when the key contradicts the pinned key, the fingerprints the user
        trusts, or the console. With none of them (a caller that did not wait for the console;
        machines/link.py does) the key seen is pinned.
        """
        pinned = self.pinned(instance_id)
        if pinned is not None:
            if pinned.export_public_key() != key.export_public_key():
                raise HostKeyChanged(instance_id)
            return True
        trusted = self.trusted_fingerprints(instance_id)
        if trusted and fingerprint(key) not in trusted:
            raise HostKeyChanged(instance_id, "is not one of those you trusted (trust-host-key)")
        expected = console_fingerprints(console_output)
        if not trusted and expected and fingerprint(key) not in expected:
            raise HostKeyChanged(
                instance_id, "is not one of those its console printed at first boot"
            )
        self.pin(instance_id, key)
        return True
