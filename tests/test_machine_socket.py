"""Where the machine server listens, against real OpenSSH sshd machines: on a Unix socket in a
folder only the machine's user may enter, never on a TCP port, so no other user of the machine can
listen in its place (after a reboot, say) and receive its token; a port that a server of an earlier
version listened on gets the token only while that server, of this user, still holds it."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import stat
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_cloudlab.sandbox.machine_disk import free_loopback_port
from jupyter_cloudlab.ssh.bootstrap import BootstrapOptions, BootstrapResult, bootstrap
from jupyter_cloudlab.ssh.openssh_forward import OpenSSHForwarding, openssh_client
from jupyter_cloudlab.ssh.tunnel import Tunnel
from tests.helpers.host_processes import tcp_listeners, unix_listeners
from tests.helpers.ssh_machines import (
    NOBODY,
    REFUSED,
    SYSTEM_PYTHON,
    VENV_BIN,
    Rig,
    another_user_tries,
    get_json,
    machine_server_api,
    machine_server_kernelspecs,
    rig,
)

NO_ENVS = BootstrapOptions(env_roots=())


@pytest.fixture(params=["deep-home", "short-home"])
def machine_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Where the machines' disks lie: deep (pytest's folder: the home's socket path would pass
    sun_path's 108 bytes, so the server's socket goes to a private folder in /tmp, as for the
    sandbox's machines), or short (the home's own ~/.cloudlab/gateway.sock, as on EC2)."""
    if request.param == "deep-home":
        yield tmp_path
        return
    short = Path(tempfile.mkdtemp(prefix="m", dir="/tmp"))
    try:
        yield short
    finally:
        subprocess.run(["rm", "-rf", str(short)], check=False)


def _server_pid(machine: Rig) -> int:
    return int((machine.disk / "home" / "ubuntu" / ".cloudlab" / "gateway.pid").read_text())


async def test_the_machine_server_listens_on_a_private_socket_and_no_port(
    machine_root: Path,
) -> None:
    async with rig(machine_root) as machine:
        home = machine.disk / "home" / "ubuntu"
        # Given a bootstrapped machine
        connection = await machine.connect()
        first = await bootstrap(connection, NO_ENVS)
        # Then its server listens on no TCP port at all
        pid = _server_pid(machine)
        assert tcp_listeners(pid) == set()
        assert first.socket is not None and first.port is None
        socket_path = Path(first.socket)

        # But on a Unix socket (0600) in a folder of the machine's user that no one else may
        # enter (0700): its home's ~/.cloudlab when the path fits sun_path
        if len(str(home / ".cloudlab" / "gateway.sock")) <= 100:
            assert socket_path == home / ".cloudlab" / "gateway.sock"
        else:
            assert socket_path.parent.parent == Path(tempfile.gettempdir())
        folder = socket_path.parent
        assert stat.S_IMODE(folder.lstat().st_mode) == 0o700 and not folder.is_symlink()
        assert stat.S_IMODE(os.lstat(socket_path).st_mode) == 0o600
        assert str(socket_path) in unix_listeners(pid)
        # And it answers through the forward, kernels included
        assert "python3" in await machine_server_kernelspecs(connection, first)
        # And another user of the machine can neither reach it nor listen in its place
        assert another_user_tries(str(socket_path)) == REFUSED
        connection.close()

        # When the machine reboots (its server is gone until the next bootstrap)
        await machine.host.power_off(machine.instance_id)
        # Then nobody else could have taken its place meanwhile
        assert another_user_tries(str(socket_path)) == REFUSED
        await machine.power_on()
        connection = await machine.connect()
        again = await bootstrap(connection, NO_ENVS)

        # Then its new server listens at the same path, again on no port
        assert again.socket == first.socket and not again.reused
        assert tcp_listeners(_server_pid(machine)) == set()
        assert "python3" in await machine_server_kernelspecs(connection, again)
        connection.close()

        # When the machine is terminated, Then its socket's folder goes with its disk
        await machine.host.power_off(machine.instance_id)
        machine.host.destroy(machine.instance_id)
        assert not folder.exists()


# A listener of another user: it prints its port, then every byte it is sent (hex, one line per
# connection), until it is ended.
CATCHER = """
import socket, sys, threading
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
print(server.getsockname()[1], flush=True)
def serve(conn):
    data = b""
    conn.settimeout(3)
    try:
        while chunk := conn.recv(65536):
            data += chunk
    except OSError:
        pass
    print(data.hex(), flush=True)
    conn.close()
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


def _start_catcher() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SYSTEM_PYTHON, "-c", CATCHER],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        stdout=subprocess.PIPE,
        text=True,
        cwd="/",
    )


def _earlier_marker(home: Path, port: int) -> None:
    """~/.cloudlab/state.json as the previous version left it: its server on 127.0.0.1:port."""
    state = home / ".cloudlab"
    state.mkdir(mode=0o700, exist_ok=True)
    marker = {
        "version": 2,
        "packages": ["jupyter_server>=2.0", "ipykernel>=6.0"],
        "python": f"{VENV_BIN}/python3",
        "envs": {},
        "gateway": [2, f"{VENV_BIN}/python3", "setsid", "0"],
        "service": "setsid",
        "unit": None,
        "port": port,
    }
    (state / "state.json").write_text(json.dumps(marker))


async def test_a_port_an_earlier_server_left_to_another_user_never_gets_the_token(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as machine:
        home = machine.disk / "home" / "ubuntu"
        # Given another user of the machine listening on the port an earlier version's server
        # used, which it took while that server was down (after a reboot, say)
        catcher = _start_catcher()
        try:
            assert catcher.stdout is not None
            port = int(catcher.stdout.readline())
            _earlier_marker(home, port)

            # When the machine is bootstrapped
            connection = await machine.connect()
            result = await bootstrap(connection, NO_ENVS)
            connection.close()
        finally:
            catcher.terminate()
            received, _ = catcher.communicate(timeout=10)

        # Then the token never went there (the listener is not the machine user's): a new
        # server was started on a socket instead
        assert result.token.encode().hex() not in received
        assert received.strip() == ""
        assert result.socket is not None and result.port is None


# A server of an earlier version, as far as the bootstrap sees it: it answers /api/status and
# lists one kernel (none once DELETE /api/kernels/k-1 came) to requests with the token.
EARLIER_SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
token = (Path.home() / ".cloudlab" / "token").read_text()
kernels = [{"id": "k-1", "name": "python3"}]
class Handler(BaseHTTPRequestHandler):
    def reply(self, body):
        if self.headers.get("Authorization") != "token " + token:
            self.send_response(403); self.end_headers(); return
        data = json.dumps(body).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data)
    def do_GET(self):
        self.reply({"started": "then"} if self.path == "/api/status" else kernels)
    def do_DELETE(self):
        kernels.clear(); self.reply({})
HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


async def _start_earlier_server(machine: Rig, port: int) -> None:
    connection = await machine.connect()
    command = (
        f"setsid nohup {VENV_BIN}/python3 -c {shlex.quote(EARLIER_SERVER)} {port}"
        " >.cloudlab/earlier.log 2>&1 </dev/null & echo $! >.cloudlab/gateway.pid"
    )
    await connection.run(command, check=True)
    connection.close()
    token = (machine.disk / "home" / "ubuntu" / ".cloudlab" / "token").read_text()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"}
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            await asyncio.to_thread(urllib.request.urlopen, request, timeout=2)
            return
        except OSError:
            assert time.monotonic() < deadline, "the earlier server did not start"
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("forward", ["asyncssh", "openssh"])
async def test_an_earlier_server_on_a_port_is_kept_while_its_kernels_run(
    tmp_path: Path, forward: str
) -> None:
    async with rig(tmp_path) as machine:
        home = machine.disk / "home" / "ubuntu"
        connection = await machine.connect()
        await bootstrap(connection, NO_ENVS)  # the token file and the server's files
        connection.close()
        await machine.power_cycle()
        # Given a server that an earlier version started on the machine's 127.0.0.1, with a
        # kernel on it
        port = free_loopback_port()
        _earlier_marker(home, port)
        await _start_earlier_server(machine, port)

        # When the machine is bootstrapped and its tunnel opened
        results: list[BootstrapResult] = []

        async def open_session():  # type: ignore[no-untyped-def]
            connection = await machine.connect()
            results.append(await bootstrap(connection, NO_ENVS))
            return connection, results[-1]

        start_forward = None
        if forward == "openssh":
            ssh = openssh_client()
            assert ssh is not None, "CI installs openssh-client"
            key_file = tmp_path / "id_ed25519"
            machine.client_key.write_private_key(str(key_file))
            key_file.chmod(0o600)
            forwarding = OpenSSHForwarding(ssh, key_file, tmp_path / "known_hosts")
            start_forward = forwarding.starter(machine.instance_id)
        tunnel = Tunnel(open_session, lambda *_: None, start_forward, name=machine.instance_id)
        try:
            path = await tunnel.open()

            # Then that server is kept (its kernels would die with it), reached on its port
            # through the tunnel's socket
            earlier = results[-1]
            assert earlier.port == port and earlier.socket is None
            assert earlier.reused and earlier.outdated
            kernels = await asyncio.to_thread(get_json, path, "/api/kernels", earlier.token)
            assert kernels == [{"id": "k-1", "name": "python3"}]
        finally:
            await tunnel.close()

        # When its kernel is gone, Then the next bootstrap replaces it by a server on a socket
        connection = await machine.connect()
        await machine_server_api(connection, earlier, "/api/kernels/k-1", "DELETE")
        replaced = await bootstrap(connection, NO_ENVS)
        assert replaced.socket is not None and replaced.port is None and not replaced.reused
        assert "python3" in await machine_server_kernelspecs(connection, replaced)
        connection.close()
        deadline = time.monotonic() + 10
        while any(p == port for _, p in _loopback_listeners()):
            assert time.monotonic() < deadline, "the earlier server was not stopped"
            await asyncio.sleep(0.1)


def _loopback_listeners() -> set[tuple[str, int]]:
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, _, hex_port = fields[1].partition(":")
        if fields[3] == "0A":
            found.add((address, int(hex_port, 16)))
    return found


def test_another_users_socket_folder_is_never_reused_for_the_server(tmp_path: Path) -> None:
    # Given the machine side's choice of a socket path for a home too deep for sun_path
    from jupyter_cloudlab.machine_side import service

    foreign = Path(tempfile.mkdtemp(prefix="cloudlab-"))
    try:
        os.chown(foreign, NOBODY, NOBODY)
        # When the marker names a folder that is not ours alone (another user made it after a
        # reboot cleared /tmp), Then a new private folder is made instead
        deep = tmp_path / ("d" * 120) / ".cloudlab" / "gateway.sock"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(service, "SOCKET", deep)
            chosen = Path(service.pick_socket(str(foreign / "gateway.sock")))
        assert chosen.parent != foreign and chosen.name == "gateway.sock"
        assert stat.S_IMODE(chosen.parent.lstat().st_mode) == 0o700
        assert chosen.parent.lstat().st_uid == os.geteuid()
        chosen.parent.rmdir()
    finally:
        foreign.rmdir()
