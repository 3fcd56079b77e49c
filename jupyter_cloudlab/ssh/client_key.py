"""This computer's SSH key for our machines: made once, private part 0600, never logged."""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh


def load_or_create_client_key(path: Path) -> asyncssh.SSHKey:
    """The private key at `path`, created (ed25519, mode 0600) when absent."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="jupyter-cloudlab")
    # Create with 0600 from the start: never a moment where the key is world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key())
    return key


def public_key_line(key: asyncssh.SSHKey) -> str:
    return key.export_public_key().decode().strip()
