"""The kernel layer reaches a machine server through the tunnel's Unix socket: REST through
tornado's client (a resolver that answers with the socket) and the relay's websocket through
asyncio's Unix connection, both asking for Host ``localhost`` (a machine server closed to remote
access answers nothing else); the URL's host only names the machine in messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_unix_socket
from tornado.websocket import WebSocketHandler

from jupyter_cloudlab.kernels.machine_servers import MachineServer
from jupyter_cloudlab.kernels.server_client import MachineServerClient, MachineServerError
from jupyter_cloudlab.ssh.local_socket import private_folder, remove_folder

V1 = "v1.kernel.websocket.jupyter.org"


class _Kernels(web.RequestHandler):
    def get(self) -> None:
        self.settings["hosts"].append(self.request.host)
        if self.request.host != "localhost":  # as jupyter_server's check_host, closed to remote
            raise web.HTTPError(403)
        self.finish(b'[{"id": "k-1", "name": "python3"}]')


class _Channels(WebSocketHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return subprotocols[0] if subprotocols else None

    def open(self, kernel_id: str) -> None:
        self.settings["hosts"].append(self.request.host)

    def on_message(self, message: str | bytes) -> None:
        self.write_message(message, binary=isinstance(message, bytes))


@pytest.fixture
async def socket_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A machine-server stand-in on a Unix socket; yields its path and the Hosts it was asked."""
    folder = private_folder("m.sock")
    path = str(folder / "m.sock")
    hosts: list[str] = []
    app = web.Application(
        [(r"/api/kernels", _Kernels), (r"/api/kernels/([^/]+)/channels", _Channels)], hosts=hosts
    )
    server = HTTPServer(app)
    server.add_socket(bind_unix_socket(path))
    yield path, hosts
    server.stop()
    remove_folder(folder)


async def test_rest_and_channels_go_through_the_socket(
    socket_server: tuple[str, list[str]],
) -> None:
    path, hosts = socket_server
    # Given a machine server registered with the tunnel's socket
    machine = MachineServer(
        "m-1a2b3c4d", "box", "http://cloudlab-m-1a2b3c4d", "t0k3n", "t3.small", socket_path=path
    )
    client = MachineServerClient(machine)

    # When its kernels are listed, Then the request went to the socket, for Host localhost
    assert await client.list_kernels() == [{"id": "k-1", "name": "python3"}]

    # And a kernel's channels open there too, and carry frames both ways
    upstream = await client.connect_channels("k-1", "s-1", [V1])
    try:
        assert upstream.selected_subprotocol == V1
        upstream.write_message(b"\x00ping")
        piece = await asyncio.wait_for(upstream.receive(), 5)
        assert piece is not None and bytes(piece.data) == b"\x00ping"
    finally:
        upstream.close()
    assert hosts == ["localhost", "localhost"]
    # And the URLs (for messages) name the machine, not a port
    assert client.channels_url("k-1", "s-1").startswith("ws://cloudlab-m-1a2b3c4d/api/")


async def test_a_socket_with_nobody_listening_is_unreachable(tmp_path: Path) -> None:
    # Given the tunnel's socket while it heals (no forward listens there)
    machine = MachineServer(
        "m-1", "box", "http://cloudlab-m-1", "t", "t3.small", socket_path=str(tmp_path / "s.sock")
    )
    client = MachineServerClient(machine)
    # Then a request fails as unreachable (599), saying which machine
    with pytest.raises(MachineServerError) as failed:
        await client.list_kernels()
    assert failed.value.unreachable and "cloudlab-m-1" in failed.value.message
    with pytest.raises(MachineServerError) as failed:
        await client.connect_channels("k-1", "s-1", [V1])
    assert failed.value.unreachable
