"""What the relay writes to the browser: each message from the gateway once, whole or streamed.

Small messages, text frames and the legacy protocol's frames are written whole, as they came. A
v1 message past ``STREAM_AFTER_BYTES`` is passed on while it arrives (cut-through), as websocket
fragments of one message that the browser puts back together: for a 50 MB output the browser then
receives while the machine still sends, instead of after the local server got all of it, and the
local server holds a few pieces of it rather than several whole copies.

The relay remembers the msg_id of the last message written completely (a reconnect resumes after
it). When the upstream drops in the middle of a streamed message the browser already holds its
start: the gateway resends that message first (from its sent log) and the part the browser has is
skipped. When the gateway no longer has it (larger than its log) the message can't be finished,
and :class:`BrokenMessage` says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler, WebSocketProtocol13

from .frames import V1_PROTOCOL, frame_msg_id
from .upstream import Piece

STREAM_AFTER_BYTES = 256 * 1024
_TEXT = 0x1
_BINARY = 0x2
_CONTINUATION = 0x0


BROKEN_REASON = "a large output was cut off by a lost connection to the machine; reconnecting"


class BrokenMessage(Exception):
    """A streamed message was cut by a lost link and the gateway can't send it again."""


@dataclass
class _Streamed:
    msg_id: str | None
    sent: int = 0
    """Bytes of it the browser has."""


class BrowserOutput:
    """Writes the gateway's messages to one browser socket, at most one write in flight (so the
    browser's back-pressure reaches the upstream read)."""

    def __init__(self, handler: WebSocketHandler, protocol: str | None) -> None:
        self._handler = handler
        self._protocol = protocol
        self.last_msg_id: str | None = None
        """The msg_id of the last message written completely."""
        self._parts: list[Any] = []
        self._size = 0
        self._streaming: _Streamed | None = None
        self._resuming: _Streamed | None = None
        self._skip = 0
        self._flushing: asyncio.Future[None] | None = None

    def upstream_lost(self) -> None:
        """The upstream dropped: forget what was not written; a streamed message is resumed."""
        self._parts, self._size = [], 0
        if self._streaming is not None:
            self._resuming, self._streaming = self._streaming, None

    async def feed(self, piece: Piece) -> None:
        """Take the next piece from the upstream (raises WebSocketClosedError, BrokenMessage)."""
        if piece.first:
            self._parts, self._size = [], 0
        if self._streaming is not None:
            await self._forward(piece.data, piece.last)  # type: ignore[arg-type]
            return
        self._parts.append(piece.data)
        self._size += len(piece.data)
        if piece.last:
            await self._write_whole(piece.binary)
        elif self._size >= STREAM_AFTER_BYTES and piece.binary and self._can_stream():
            await self._start_streaming()

    async def _write_whole(self, binary: bool) -> None:
        if self._resuming is not None:  # the message that was cut was not sent again
            raise BrokenMessage(BROKEN_REASON)
        message = b"".join(self._parts) if binary else "".join(self._parts)
        self._parts, self._size = [], 0
        if self._writes_frames():
            # As write_message would, minus the task it starts per message (per frame latency).
            data = message if isinstance(message, bytes) else message.encode()
            await self._write_frame(data, _BINARY if binary else _TEXT, fin=True)
        else:
            await self._wait_flushed()
            self._flushing = self._handler.write_message(message, binary=binary)
            self._flushing.add_done_callback(_ignore_closed)  # the last may never be awaited
        self.last_msg_id = frame_msg_id(message, self._protocol) or self.last_msg_id

    async def _start_streaming(self) -> None:
        prefix = b"".join(self._parts)
        self._parts, self._size = [], 0
        msg_id = frame_msg_id(prefix, self._protocol)  # the header is at the start of a v1 frame
        if self._resuming is None:
            self._streaming = _Streamed(msg_id)
            self._skip = 0
        else:
            cut, self._resuming = self._resuming, None
            if msg_id is None or msg_id != cut.msg_id:
                raise BrokenMessage(BROKEN_REASON)
            self._streaming = cut
            self._skip = cut.sent
        await self._forward(prefix, last=False)

    async def _forward(self, data: bytes, last: bool) -> None:
        streamed = self._streaming
        assert streamed is not None
        if self._skip:
            skipped = min(self._skip, len(data))
            data, self._skip = data[skipped:], self._skip - skipped
            if self._skip and last:
                raise BrokenMessage(BROKEN_REASON)
        if data or last:
            await self._write_fragment(data, first=streamed.sent == 0, fin=last)
            streamed.sent += len(data)
        if last:
            self.last_msg_id = streamed.msg_id or self.last_msg_id
            self._streaming = None

    def _can_stream(self) -> bool:
        return self._protocol == V1_PROTOCOL and self._writes_frames()

    def _writes_frames(self) -> bool:
        """Whether frames can be written below tornado's message API: not with permessage-deflate
        (off in jupyter_server unless configured), which compresses a message whole."""
        connection = self._handler.ws_connection
        return (
            isinstance(connection, WebSocketProtocol13)
            and getattr(connection, "_compressor", None) is None
        )

    async def _write_fragment(self, data: bytes, first: bool, fin: bool) -> None:
        await self._write_frame(data, _BINARY if first else _CONTINUATION, fin)

    async def _write_frame(self, data: bytes, opcode: int, fin: bool) -> None:
        await self._wait_flushed()
        connection = self._handler.ws_connection
        if connection is None or connection.is_closing():
            raise WebSocketClosedError()
        assert isinstance(connection, WebSocketProtocol13)
        try:
            future = connection._write_frame(fin, opcode, data)
        except StreamClosedError as e:
            raise WebSocketClosedError() from e
        future.add_done_callback(_ignore_closed)
        self._flushing = future

    async def _wait_flushed(self) -> None:
        """One write in flight: the next piece is read from upstream while this one flushes."""
        flushing, self._flushing = self._flushing, None
        if flushing is not None and not flushing.done():
            try:
                await flushing
            except StreamClosedError as e:
                raise WebSocketClosedError() from e


def _ignore_closed(future: asyncio.Future[Any]) -> None:
    """Retrieve a send's exception so a send racing a close doesn't log as never retrieved."""
    if not future.cancelled():
        future.exception()
