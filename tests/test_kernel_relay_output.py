"""What the relay writes to the browser (kernels/relay/browser_output.py): a message the machine server sent as one
frame arrives as that very frame, bytes unchanged, however the stream split it; only one past
STREAM_AFTER_BYTES is passed on while it arrives, as fragments of the same message."""

from __future__ import annotations

import asyncio
import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1
from tornado.websocket import WebSocketProtocol13
from wsproto.frame_protocol import FrameProtocol, Opcode

from jupyter_cloudlab.kernels.relay.browser_output import STREAM_AFTER_BYTES, BrowserOutput
from jupyter_cloudlab.kernels.relay.kernel_frames import V1_PROTOCOL
from jupyter_cloudlab.kernels.relay.ws_frames import FrameReader, Piece

MACHINE_SERVER_SIDE = FrameProtocol(client=False, extensions=[])
MB = 1024 * 1024


class BrowserStream:
    """Stands in for the browser socket's IOStream: keeps what is written, flushed at once."""

    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes | memoryview) -> asyncio.Future[None]:
        self.written += data
        flushed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        flushed.set_result(None)
        return flushed

    def closed(self) -> bool:
        return False


def browser_output(stream: BrowserStream) -> BrowserOutput:
    """The relay's output to a browser that negotiated v1, as tornado's connection would be."""
    connection = WebSocketProtocol13.__new__(WebSocketProtocol13)
    connection.stream = stream  # type: ignore[assignment]
    connection._compressor = None
    connection.client_terminated = connection.server_terminated = False
    return BrowserOutput(SimpleNamespace(ws_connection=connection), V1_PROTOCOL)  # type: ignore[arg-type]


def output_message(size: int) -> tuple[str, bytes]:
    """A display_data of ``size`` bytes as the machine server's v1 frame payload, and its msg_id."""
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "display_data", "session": "s", "version": "5.3"}
    content = {"data": {"text/plain": "x" * size}, "metadata": {}}
    parts = [json.dumps(part).encode() for part in (header, {}, {}, content)]
    return msg_id, serialize_msg_to_ws_v1(parts, "iopub")


async def relay(
    stream_bytes: bytes, chunk: int, output: BrowserOutput, reader: FrameReader | None = None
) -> None:
    """Feed the machine server's bytes, ``chunk`` at a time, through the relay's reader and output."""
    reader = reader or FrameReader()
    for start in range(0, len(stream_bytes), chunk):
        reader.feed(stream_bytes[start : start + chunk])
        while (event := reader.next()) is not None:
            assert isinstance(event, Piece)
            await output.feed(event)


@pytest.mark.parametrize("size", [100_000, 1 * MB, 5 * MB], ids=["100KB", "1MB", "5MB"])
@pytest.mark.parametrize("chunk", [7919, 65536, 262144])
async def test_a_message_reaches_the_browser_as_the_frame_the_machine_sent(
    size: int, chunk: int
) -> None:
    # Given two outputs the machine sent as one frame each, arriving in TCP-sized chunks
    first_id, first = output_message(size)
    second_id, second = output_message(1000)
    sent = bytes(MACHINE_SERVER_SIDE.send_data(first, fin=True)) + bytes(
        MACHINE_SERVER_SIDE.send_data(second, fin=True)
    )
    stream = BrowserStream()
    output = browser_output(stream)

    # When the relay passes them on
    await relay(sent, chunk, output)

    # Then the browser received exactly those bytes, and the relay knows where it stopped
    assert bytes(stream.written) == sent
    assert output.last_msg_id == second_id != first_id


async def test_a_message_past_the_bound_is_passed_on_as_fragments_of_one_message() -> None:
    # Given an output larger than the relay holds before passing it on
    msg_id, message = output_message(STREAM_AFTER_BYTES + MB)
    stream, reader = BrowserStream(), FrameReader()
    output = browser_output(stream)

    # When the first part of it has arrived, Then the browser already has it
    sent = bytes(MACHINE_SERVER_SIDE.send_data(message, fin=True))
    await relay(sent[: STREAM_AFTER_BYTES + 65536], 65536, output, reader)
    assert len(stream.written) >= STREAM_AFTER_BYTES

    # And when all of it has, it makes up the same one message
    await relay(sent[STREAM_AFTER_BYTES + 65536 :], 65536, output, reader)
    browser = FrameProtocol(client=True, extensions=[])
    browser.receive_bytes(bytes(stream.written))
    frames: list[Any] = list(browser.received_frames())
    assert len(frames) > 1 and frames[0].opcode == Opcode.BINARY
    assert [frame.message_finished for frame in frames] == [False] * (len(frames) - 1) + [True]
    assert b"".join(frame.payload for frame in frames) == message
    assert output.last_msg_id == msg_id
