"""Helpers for tests of the SSH layer against real OpenSSH sshd machines (the sandbox host)."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncssh

from jupyter_cloudlab.pytest_plugin import cloudlab_require_openssh
from jupyter_cloudlab.sandbox.machine_host import PoweredMachine
from jupyter_cloudlab.sandbox.openssh_host import OpenSSHMachineHost
from jupyter_cloudlab.ssh.connection import SSHTarget, connect
from jupyter_cloudlab.ssh.host_keys import HostKeyStore

VENV_BIN = str(Path(sys.executable).parent)
LAYOUTS = ["ubuntu", "ec2-user"]
"""The two account layouts of EC2 images: Ubuntu's and Amazon Linux's (and DLAMIs' on it)."""


def base_python() -> str:
    """This venv's base interpreter: a Python without jupyter_server, like a fresh machine's."""
    cfg = Path(sys.prefix) / "pyvenv.cfg"
    for line in cfg.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "executable":
            return value.strip()
        if key.strip() == "home":
            home = value.strip()
    return str(Path(home) / "python3")


def openssh_host(root: Path) -> OpenSSHMachineHost:
    cloudlab_require_openssh()
    return OpenSSHMachineHost(root, python_bin_dir=VENV_BIN)


class Rig:
    """One sandbox machine behind real sshd, our client key and our host-key store."""

    def __init__(self, root: Path, user: str, host: OpenSSHMachineHost | None = None) -> None:
        self.root = root
        self.user = user
        self.host = host or openssh_host(root / "machines")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_keys = HostKeyStore(root / "host_keys.json")
        self.powered: PoweredMachine | None = None
        # Unique: powering on kills every process marked with the id, in any test run here.
        self.instance_id = f"i-0{secrets.token_hex(8)}"

    @property
    def disk(self) -> Path:
        return self.root / "machines" / self.instance_id

    async def power_on(self) -> PoweredMachine:
        public = self.client_key.export_public_key().decode().strip()
        self.powered = await self.host.power_on(self.instance_id, self.user, public)
        return self.powered

    async def power_cycle(self) -> PoweredMachine:
        await self.host.power_off(self.instance_id)
        return await self.power_on()

    async def connect(self) -> asyncssh.SSHClientConnection:
        assert self.powered is not None
        target = SSHTarget(self.instance_id, self.powered.host, self.powered.port, self.user)
        console = self.host.console_output(self.instance_id)
        return await connect(target, self.client_key, self.host_keys, console)


@asynccontextmanager
async def rig(
    root: Path, user: str = "ubuntu", host: OpenSSHMachineHost | None = None
) -> AsyncIterator[Rig]:
    """A powered machine (OpenSSH's sshd by default; HOST for another kind), off afterwards."""
    machine = Rig(root, user, host)
    try:
        await machine.power_on()
        yield machine
    finally:
        await machine.host.close()


async def machine_server_api(
    connection: asyncssh.SSHClientConnection, machine_server: Any, path: str, method: str = "GET"
) -> Any:
    """A REST call to the machine's server through a forward of CONNECTION (None: no body)."""
    listener = await connection.forward_local_port("127.0.0.1", 0, "127.0.0.1", machine_server.port)
    try:
        return await asyncio.to_thread(
            get_json, listener.get_port(), path, machine_server.token, method
        )
    finally:
        listener.close()


async def machine_server_kernelspecs(
    connection: asyncssh.SSHClientConnection, machine_server: Any
) -> dict:
    """The kernelspecs the machine's server lists."""
    return dict(
        (await machine_server_api(connection, machine_server, "/api/kernelspecs"))["kernelspecs"]
    )


def get_json(port: int, path: str, token: str, method: str = "GET") -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={"Authorization": f"token {token}"},
        method=method,
        data=b"{}" if method == "POST" else None,
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        body = reply.read()
    return json.loads(body) if body else None
