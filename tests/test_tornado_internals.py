"""The tornado and jupyter_server internals the kernel relay relies on are still there.

The relay (kernels/relay/) writes frames straight to the browser's stream below tornado's message
API, and overrides jupyter_server's kernel websocket connection. tornado is capped below its next
major in pyproject.toml; this test is what fails first when a release within the cap moves them.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from typing import Any

import pytest
from jupyter_server.services.kernels.connection.base import BaseKernelWebsocketConnection
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
from tornado import httpserver, netutil, web, websocket
from tornado.iostream import IOStream, StreamClosedError

from jupyter_cloudlab.kernels.relay.ws_frames import OP_BINARY, frame_header

RAW_PAYLOAD = b"\x00written below tornado's message API"


class _Probe(websocket.WebSocketHandler):
    """Looks at its own connection the way kernels/relay/browser_output.py does."""

    seen: asyncio.Queue[dict[str, Any]]

    def open(self) -> None:
        self.set_nodelay(True)  # kernels/relay/connection.py: Nagle off on the browser's socket
        connection = self.ws_connection
        self.seen.put_nowait(
            {
                "protocol13": isinstance(connection, websocket.WebSocketProtocol13),
                "has_compressor": hasattr(connection, "_compressor"),
                "compressor": getattr(connection, "_compressor", "missing"),
                "stream": getattr(connection, "stream", None),
                "closing": connection.is_closing() if connection is not None else None,
            }
        )
        assert connection is not None
        # The relay's own write of a server frame, exactly as browser_output._write_frame does.
        connection.stream.write(frame_header(OP_BINARY, True, len(RAW_PAYLOAD)) + RAW_PAYLOAD)


@pytest.fixture
async def probe_url() -> AsyncIterator[tuple[str, asyncio.Queue[dict[str, Any]]]]:
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    app = web.Application([(r"/ws", _Probe)])
    _Probe.seen = seen
    sockets = netutil.bind_sockets(0, "127.0.0.1")
    server = httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    yield f"ws://127.0.0.1:{port}/ws", seen
    server.stop()
    await server.close_all_connections()


async def test_a_frame_written_to_the_protocols_stream_reaches_the_client(
    probe_url: tuple[str, asyncio.Queue[dict[str, Any]]],
) -> None:
    # Given a tornado websocket server without compression (jupyter_server's default)
    url, seen = probe_url

    # When a client connects and the handler writes a frame to its protocol's stream
    client = await websocket.websocket_connect(url)
    try:
        message = await asyncio.wait_for(client.read_message(), 10)
        found = await asyncio.wait_for(seen.get(), 10)
    finally:
        client.close()

    # Then the connection is a WebSocketProtocol13 with the attributes the relay reads...
    assert found["protocol13"], "ws_connection is no longer a WebSocketProtocol13"
    assert found["has_compressor"], "WebSocketProtocol13._compressor moved"
    assert found["compressor"] is None
    assert isinstance(found["stream"], IOStream), "WebSocketProtocol13.stream moved"
    assert found["closing"] is False
    # ...and the client gets the frame whole, as a message
    assert message == RAW_PAYLOAD


def test_tornado_names_the_relay_imports_exist() -> None:
    # Given the names kernels/relay/browser_output.py and connection.py use
    # Then tornado still has them, with the methods called on them
    assert issubclass(websocket.WebSocketProtocol13, websocket.WebSocketProtocol)
    assert issubclass(websocket.WebSocketClosedError, Exception)
    assert issubclass(StreamClosedError, Exception)
    for method in ("write_message", "set_nodelay", "close", "select_subprotocol"):
        assert callable(getattr(websocket.WebSocketHandler, method, None)), method
    for method in ("is_closing", "write_message", "write_ping", "_write_frame"):
        assert callable(getattr(websocket.WebSocketProtocol13, method, None)), method


def test_jupyter_server_connection_hooks_the_relay_overrides_exist() -> None:
    # Given CloudLabWebsocketConnection, a ZMQChannelsWebsocketConnection subclass
    # Then the hooks it overrides and the traits it reads are still there
    for hook in ("prepare", "connect", "disconnect", "handle_incoming_message"):
        assert callable(getattr(ZMQChannelsWebsocketConnection, hook, None)), hook
    assert inspect.ismethod(ZMQChannelsWebsocketConnection.close_all)  # a classmethod
    traits = BaseKernelWebsocketConnection.class_trait_names()
    for trait in ("kernel_ws_protocol", "websocket_handler", "session"):
        assert trait in traits, trait
    assert "kernel_id" in dir(BaseKernelWebsocketConnection)


@pytest.mark.parametrize(
    ("preferred", "offered", "selected"),
    [
        pytest.param("", ["v1.kernel.websocket.jupyter.org"], None, id="empty-means-legacy"),
        pytest.param(
            "v1.kernel.websocket.jupyter.org",
            ["v1.kernel.websocket.jupyter.org"],
            "v1.kernel.websocket.jupyter.org",
            id="v1",
        ),
    ],
)
def test_kernel_handler_follows_the_connections_protocol(
    preferred: str, offered: list[str], selected: str | None
) -> None:
    # Given a connection whose protocol follows the machine server's choice (connection.py sets
    # kernel_ws_protocol to "" for legacy)
    handler: Any = object.__new__(KernelWebsocketHandler)
    handler.connection = type("Connection", (), {"kernel_ws_protocol": preferred})()

    # When the browser offers its subprotocols
    chosen = KernelWebsocketHandler.select_subprotocol(handler, offered)

    # Then jupyter_server picks what the connection says
    assert chosen == selected
