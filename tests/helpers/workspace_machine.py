"""A sandbox machine behind real sshd with a Mirror over its SFTP, for the workspace tests and
the mirror benchmark: the SFTP opener reconnects after a cut and counts how often it is asked."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncssh

from jupyter_cloudlab.workspace.mirror import Mirror, MirrorNotice, MirrorSettings
from tests.helpers.ssh_machines import Rig, rig


class CountingSftp:
    """The machines layer's SftpOpener, played: one SFTP session over one SSH connection,
    both opened again when the link broke. ``calls`` counts every time the mirror asks."""

    def __init__(self, machine: Rig) -> None:
        self.machine = machine
        self.calls = 0
        self.shell_calls = 0
        self.connection: asyncssh.SSHClientConnection | None = None
        self.sftp: asyncssh.SFTPClient | None = None

    async def __call__(self) -> asyncssh.SFTPClient:
        self.calls += 1
        if self.connection is None or self.connection.is_closed():
            self.connection = await self.machine.connect()
            self.sftp = await self.connection.start_sftp_client()
        assert self.sftp is not None
        return self.sftp

    async def shell(self) -> asyncssh.SSHClientConnection:
        """The machines layer's ShellOpener, played: the same SSH connection, for commands."""
        self.shell_calls += 1
        await self()
        assert self.connection is not None
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


class Workspace:
    """A local server root, a machine, and a Mirror between them."""

    def __init__(
        self, machine: Rig, local_root: Path, settings: MirrorSettings, shell: bool = False
    ) -> None:
        self.machine = machine
        self.local_root = local_root
        self.sftp = CountingSftp(machine)
        self.notices: list[MirrorNotice] = []
        self.mirror = Mirror(
            machine.instance_id,
            self.sftp,
            local_root,
            settings,
            self.notices.append,
            shell=self.sftp.shell if shell else None,
        )

    @property
    def home(self) -> Path:
        """The machine user's home on this host's disk (where SFTP paths start)."""
        return self.machine.disk / "home" / self.machine.user

    def on_machine(self, rel: str) -> Path:
        return self.home / rel

    def notices_of(self, kind: str) -> list[MirrorNotice]:
        return [n for n in self.notices if n.kind == kind]


@asynccontextmanager
async def workspace(
    tmp_path: Path, settings: MirrorSettings | None = None, shell: bool = False
) -> AsyncIterator[Workspace]:
    """A Mirror to a machine behind a real sshd; with SHELL, small files go in archives (as
    the machines layer sets it up), else over SFTP only."""
    local_root = tmp_path / "laptop"
    local_root.mkdir()
    async with rig(tmp_path / "machine") as machine:
        space = Workspace(machine, local_root, settings or MirrorSettings(), shell)
        try:
            yield space
        finally:
            await space.mirror.close()
            space.sftp.close()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def big_file(path: Path, size: int) -> Path:
    """SIZE bytes that differ from block to block (a resumed copy with a hole would show)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = 1024 * 1024
    with open(path, "wb") as f:
        for n in range(size // block):
            f.write(hashlib.sha256(n.to_bytes(8, "big")).digest() * (block // 32))
    return path
