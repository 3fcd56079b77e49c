"""Helpers for tests of the SSH layer against real OpenSSH sshd machines (the sandbox host)."""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncssh

from jupyter_cloudlab.pytest_plugin import cloudlab_require_openssh
from jupyter_cloudlab.sandbox.machine_disk import MachineDisk
from jupyter_cloudlab.sandbox.machine_host import PoweredMachine
from jupyter_cloudlab.sandbox.openssh_host import OpenSSHMachineHost
from jupyter_cloudlab.ssh.connection import SSHTarget, connect
from jupyter_cloudlab.ssh.host_keys import HostKeyStore
from jupyter_cloudlab.ssh.local_socket import private_folder, remove_folder

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
        # A home too deep for a socket path put its server's socket in a folder in /tmp.
        for folder in MachineDisk(
            machine.host.root_dir, machine.instance_id
        ).server_socket_folders():
            remove_folder(folder)


async def machine_server_api(
    connection: asyncssh.SSHClientConnection, machine_server: Any, path: str, method: str = "GET"
) -> Any:
    """A REST call to the machine's server (a BootstrapResult) through a forward of CONNECTION
    from a socket in a private folder, as the tunnel's (None: no body)."""
    folder = private_folder("api.sock")
    local = str(folder / "api.sock")
    remote = machine_server.remote_end
    if isinstance(remote, str):
        listener = await connection.forward_local_path(local, remote)
    else:
        listener = await connection.forward_local_path_to_port(local, "127.0.0.1", remote)
    try:
        return await asyncio.to_thread(get_json, local, path, machine_server.token, method)
    finally:
        listener.close()
        remove_folder(folder)


async def machine_server_kernelspecs(
    connection: asyncssh.SSHClientConnection, machine_server: Any
) -> dict:
    """The kernelspecs the machine's server lists."""
    return dict(
        (await machine_server_api(connection, machine_server, "/api/kernelspecs"))["kernelspecs"]
    )


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix socket (the tunnel's local end)."""

    def __init__(self, path: str, timeout: float = 30) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def get_json(socket_path: str, path: str, token: str, method: str = "GET") -> Any:
    """A JSON request to a jupyter server listening on (or forwarded to) a Unix socket."""
    connection = UnixHTTPConnection(socket_path)
    try:
        connection.request(
            method,
            path,
            body=b"{}" if method == "POST" else None,
            headers={"Authorization": f"token {token}", "Host": "localhost"},
        )
        reply = connection.getresponse()
        body = reply.read()
    finally:
        connection.close()
    if reply.status >= 400:
        raise OSError(f"{method} {path}: HTTP {reply.status}: {body[:200]!r}")
    return json.loads(body) if body else None


NOBODY = 65534
"""Another local user (nobody), for the tests that play one."""
SYSTEM_PYTHON = "/usr/bin/python3"


def as_another_user(code: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` as another local user (needs root), with the system's Python (this
    venv's may lie in folders that user cannot enter, such as /root). Its stdout says what it
    could do."""
    return subprocess.run(
        [SYSTEM_PYTHON, "-c", code],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )


# What another local user tries against a socket of ours (the tunnel's end, the machine server's):
# connect to it (to be the browser's peer), bind its path (to listen in its place) and put a file
# in its folder.
ATTEMPTS = """
import json, os, socket
path = {path!r}
outcome = {{}}
for name, act in (("connect", lambda s: s.connect(path)), ("bind", lambda s: s.bind(path))):
    s = socket.socket(socket.AF_UNIX)
    try:
        act(s)
        outcome[name] = "done"
    except OSError as e:
        outcome[name] = e.__class__.__name__
    finally:
        s.close()
try:
    open(os.path.join(os.path.dirname(path), "mine"), "w").close()
    outcome["create"] = "done"
except OSError as e:
    outcome["create"] = e.__class__.__name__
print(json.dumps(outcome))
"""
REFUSED = {"connect": "PermissionError", "bind": "PermissionError", "create": "PermissionError"}


def another_user_tries(path: str) -> dict[str, str]:
    """What another local user managed against the socket ``path`` (REFUSED: nothing)."""
    ran = as_another_user(ATTEMPTS.format(path=path))
    assert ran.returncode == 0, ran.stderr
    return dict(json.loads(ran.stdout))
