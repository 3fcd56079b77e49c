"""What a machine's server sends is read with bounds (it may be compromised): REST replies past
their bound are refused with a sentence, and a message the relay holds until whole (text frames,
the legacy protocol) ends the browser's socket past its bound instead of filling memory. Large
outputs in the v1 protocol are streamed and unaffected (tests/e2e/test_kernel_large_output.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from tornado import web
from tornado.websocket import WebSocketProtocol13

from jupyter_cloudlab.kernels.machine_servers import MachineServer
from jupyter_cloudlab.kernels.relay.browser_output import (
    MAX_WHOLE_MESSAGE_BYTES,
    BrowserOutput,
    MessageTooLarge,
)
from jupyter_cloudlab.kernels.relay.ws_frames import OP_TEXT, FrameReader, Piece, frame_header
from jupyter_cloudlab.kernels.server_client import (
    MAX_REPLY_BYTES,
    MachineServerClient,
    MachineServerError,
)

MB = 1024 * 1024


class _Kernels(web.RequestHandler):
    async def get(self) -> None:
        size = MAX_REPLY_BYTES + MB
        if not self.settings["chunked"]:
            self.finish(b"[" + b" " * size + b"]")
            return
        self.write(b"[")
        for _ in range(size // (64 * 1024) + 1):  # no Content-Length: sent as it goes
            self.write(b" " * 64 * 1024)
            await self.flush()
        self.finish(b"]")


class _Kernel(web.RequestHandler):
    def get(self, kernel_id: str) -> None:
        self.finish(json.dumps({"id": kernel_id, "name": "python3"}))


@pytest.fixture(params=[False, True], ids=["content-length", "chunked"])
async def machine_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A machine server whose kernel list is larger than any real one, with its length said up
    front or not (sent as it goes)."""
    app = web.Application(
        [(r"/api/kernels", _Kernels), (r"/api/kernels/([^/]+)", _Kernel)], chunked=request.param
    )
    server = app.listen(0, "127.0.0.1")
    port = next(iter(server._sockets.values())).getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def test_a_rest_reply_past_its_bound_is_refused_with_a_sentence(machine_url: str) -> None:
    # Given a machine server whose kernel list is larger than any real one
    client = MachineServerClient(MachineServer("m-1", "box", machine_url, "t", "t3.small"))

    # When it is listed, Then the reply is refused, saying so, and not read on
    with pytest.raises(MachineServerError) as refused:
        await client.list_kernels()
    assert refused.value.status_code == 502
    assert f"passed {MAX_REPLY_BYTES // MB} MiB" in refused.value.message

    # And a reply within the bound still comes through
    assert (await client.get_kernel("k-1")) == {"id": "k-1", "name": "python3"}


class _BrowserStream:
    """The browser socket's stream: counts what is written, flushed at once."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: Any) -> Any:
        self.written += len(data)
        flushed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        flushed.set_result(None)
        return flushed

    def closed(self) -> bool:
        return False


async def test_a_legacy_message_past_the_relays_bound_ends_the_socket_with_a_sentence() -> None:
    # Given a browser on the legacy protocol, and a machine that sends it a text message larger
    # than the relay holds (as a frame header, then the same megabyte over and over: no memory)
    connection = WebSocketProtocol13.__new__(WebSocketProtocol13)
    stream = _BrowserStream()
    connection.stream = stream  # type: ignore[assignment]
    connection._compressor = None
    connection.client_terminated = connection.server_terminated = False
    output = BrowserOutput(SimpleNamespace(ws_connection=connection), "")  # type: ignore[arg-type]
    reader = FrameReader()
    reader.feed(frame_header(OP_TEXT, True, MAX_WHOLE_MESSAGE_BYTES + 4 * MB))
    megabyte = b" " * MB

    # When the relay passes it on, Then it stops past the bound, saying why
    with pytest.raises(MessageTooLarge, match=f"passed {MAX_WHOLE_MESSAGE_BYTES >> 20} MB"):
        for _ in range(MAX_WHOLE_MESSAGE_BYTES // MB + 4):
            reader.feed(megabyte)
            while (piece := reader.next()) is not None:
                assert isinstance(piece, Piece)
                await output.feed(piece)
    # And nothing of it reached the browser
    assert stream.written == 0
