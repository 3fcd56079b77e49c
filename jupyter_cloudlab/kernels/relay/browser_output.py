"""What the relay writes to the browser: each message from the machine server once, whole or streamed.

Messages up to ``STREAM_AFTER_BYTES``, text frames and the legacy protocol's frames are written
whole, as they came: a message that came as one frame is written as that very frame, bytes
unchanged (a large one from the pieces it arrived in, behind its header: no copy, and the browser
gets one frame, not fragments). What is held until whole is bounded (``MAX_WHOLE_MESSAGE_BYTES``:
past it the browser's socket ends, 1009, with the reason). A v1 message past ``STREAM_AFTER_BYTES`` is passed on while it
arrives (cut-through), as websocket fragments of one message that the browser puts back together:
for a 50 MB output the browser then receives while the machine still sends, instead of after the
local server got all of it, and the local server holds a few pieces of it rather than the whole.

The relay remembers the msg_id of the last message written completely (a reconnect resumes after
it). When the upstream drops in the middle of a streamed message the browser already holds its
start: the machine server resends that message first (from its sent log) and the part the browser has is
skipped. When the machine server no longer has it (larger than its log) the message can't be finished,
and :class:`BrokenMessage` says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler, WebSocketProtocol13

from .kernel_frames import V1_PROTOCOL, frame_msg_id
from .ws_frames import OP_BINARY, OP_CONTINUATION, OP_TEXT, Piece, frame_header

# Held until whole below this (at most this much per browser socket); passed on as it comes above.
STREAM_AFTER_BYTES = 8 * 1024 * 1024
# Below this a frame's header and payload are joined into one write (one send); above it the copy
# costs more than a second send.
JOIN_BELOW_BYTES = 64 * 1024
# A message's header is read from this much of its start (a v1 header: a few hundred bytes in).
HEADER_SCAN_BYTES = 64 * 1024
# What is held until whole (text frames, the legacy protocol's messages, any message when the
# browser's socket compresses) is bounded: a larger one ends the browser's socket (1009) with a
# sentence rather than the local server's memory growing with it. Generous: a legacy client's
# large output is legitimate, and the machine keeps at most 32 MB to send again, so the message is
# not resent when the browser reconnects (it is announced as lost in its cell instead).
MAX_WHOLE_MESSAGE_BYTES = 256 * 1024 * 1024


BROKEN_REASON = "a large output was cut off by a lost connection to the machine; reconnecting"


class BrokenMessage(Exception):
    """A streamed message was cut by a lost link and the machine server can't send it again."""


class MessageTooLarge(Exception):
    """A message that is held until whole passed ``MAX_WHOLE_MESSAGE_BYTES``."""


@dataclass
class _Streamed:
    msg_id: str | None
    sent: int = 0
    """Bytes of it the browser has."""


class BrowserOutput:
    """Writes the machine server's messages to one browser socket, at most one write in flight (so the
    browser's back-pressure reaches the upstream read)."""

    def __init__(self, handler: WebSocketHandler, protocol: str | None) -> None:
        self._handler = handler
        self._protocol = protocol
        self._last_msg_id: str | None = None
        # The last message written whole, its msg_id not read yet: the id is only needed when
        # the upstream is re-opened, and parsing every header was a tenth of the relay's CPU.
        self._last_unread: Piece | None = None
        self._parts: list[Any] = []
        self._size = 0
        self._streaming: _Streamed | None = None
        self._resuming: _Streamed | None = None
        self._skip = 0
        self._flushing: asyncio.Future[None] | None = None

    @property
    def last_msg_id(self) -> str | None:
        """The msg_id of the last message written completely (frames without one are skipped:
        the machine server sends none on a kernel's channels)."""
        if self._last_unread is not None:
            unread, self._last_unread = self._last_unread, None
            frame = bytes(unread.data) if unread.binary else bytes(unread.data).decode()
            self._last_msg_id = frame_msg_id(frame, self._protocol) or self._last_msg_id
        return self._last_msg_id

    async def write_own(self, message: str | bytes) -> None:
        """A whole message of the relay's own (a cell it did not send, see own_messages.py),
        written between two of the machine's: never inside a streamed one, never a resume
        point (the machine server does not know it)."""
        while True:
            await self._wait_flushed()
            if not self._parts and self._streaming is None and self._resuming is None:
                break
            await asyncio.sleep(0.005)  # rare: only while a large output passes
        binary = isinstance(message, bytes)
        data = message if isinstance(message, bytes) else message.encode()
        if self._writes_frames():
            await self._write_frame(data, OP_BINARY if binary else OP_TEXT, fin=True)
        else:
            self._flushing = self._handler.write_message(message, binary=binary)
            self._flushing.add_done_callback(_ignore_closed)

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
            await self._forward(piece.data, piece.last)
            return
        if piece.first and piece.last and self._resuming is None:
            await self._write_whole(piece)  # most messages: one piece, often with its frame
            return
        self._parts.append(piece.data)
        self._size += len(piece.data)
        if self._size > MAX_WHOLE_MESSAGE_BYTES:
            self._parts, self._size = [], 0
            raise MessageTooLarge(
                f"a message from the machine passed {MAX_WHOLE_MESSAGE_BYTES >> 20} MB, the relay's"
                " bound in this protocol (v1 streams large outputs)"
            )
        if self._resuming is not None and (piece.last or self._size >= STREAM_AFTER_BYTES):
            await self._start_streaming(last=piece.last)  # must be the cut message, sent again
        elif piece.last:
            await self._write_pieces(piece.binary)
        elif self._size >= STREAM_AFTER_BYTES and piece.binary and self._can_stream():
            await self._start_streaming()

    async def _write_whole(self, message: Piece) -> None:
        self._parts, self._size = [], 0
        if not self._writes_frames():
            data = bytes(message.data)
            await self._wait_flushed()
            self._flushing = self._handler.write_message(
                data if message.binary else data.decode(), binary=message.binary
            )
            self._flushing.add_done_callback(_ignore_closed)  # the last may never be awaited
        elif message.frame is not None:
            await self._write_frame(message.frame)  # as the machine server framed it
        else:
            opcode = OP_BINARY if message.binary else OP_TEXT
            await self._write_frame(message.data, opcode, fin=True)
        self._last_unread = message

    async def _write_pieces(self, binary: bool) -> None:
        """A message that came in pieces, as one frame: joined when small, else its pieces behind
        one header (the frame the machine server sent, bytes unchanged), without a copy."""
        parts, size = self._parts, self._size
        if size < JOIN_BELOW_BYTES or not self._can_stream():
            await self._write_whole(Piece(b"".join(parts), binary, first=True, last=True))
            return
        self._parts, self._size = [], 0
        header = frame_header(OP_BINARY if binary else OP_TEXT, True, size)
        await self._write_frame([header, *parts])
        self._last_unread = Piece(_start_of(parts), binary, first=True, last=True)

    async def _start_streaming(self, last: bool = False) -> None:
        parts, self._parts, self._size = self._parts, [], 0
        msg_id = frame_msg_id(_start_of(parts), self._protocol)  # a v1 frame starts with it
        if self._resuming is None:
            self._streaming = _Streamed(msg_id)
            self._skip = 0
        else:
            cut, self._resuming = self._resuming, None
            if msg_id is None or msg_id != cut.msg_id:
                raise BrokenMessage(BROKEN_REASON)
            self._streaming = cut
            self._skip = cut.sent
        for index, part in enumerate(parts, start=1):  # each as it came: no copy
            await self._forward(part, last and index == len(parts))

    async def _forward(self, data: bytes | memoryview, last: bool) -> None:
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
            if streamed.msg_id is not None:
                self._last_unread, self._last_msg_id = None, streamed.msg_id
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

    async def _write_fragment(self, data: bytes | memoryview, first: bool, fin: bool) -> None:
        await self._write_frame(data, OP_BINARY if first else OP_CONTINUATION, fin)

    async def _write_frame(
        self, payload: bytes | memoryview | list[Any], opcode: int | None = None, fin: bool = True
    ) -> None:
        """Write a frame to the browser's stream: ``payload`` as it is when ``opcode`` is None (a
        frame from the machine server, whole or in parts), else with a header in front. Each frame is
        written in one go, so tornado's own pings can only come between frames."""
        await self._wait_flushed()
        connection = self._handler.ws_connection
        if connection is None or connection.is_closing():
            raise WebSocketClosedError()
        assert isinstance(connection, WebSocketProtocol13)
        if isinstance(payload, list):
            parts = payload
        elif opcode is None:
            parts = [payload]
        elif len(payload) < JOIN_BELOW_BYTES:
            parts = [frame_header(opcode, fin, len(payload)) + payload]
        else:
            parts = [frame_header(opcode, fin, len(payload)), payload]
        try:
            for part in parts:
                future = connection.stream.write(part)
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


def _start_of(parts: list[Any]) -> bytes:
    """The first ``HEADER_SCAN_BYTES`` of a message's parts (enough to hold its header)."""
    start = bytearray()
    for part in parts:
        start += part[: HEADER_SCAN_BYTES - len(start)]
        if len(start) >= HEADER_SCAN_BYTES:
            break
    return bytes(start)


def _ignore_closed(future: asyncio.Future[Any]) -> None:
    """Retrieve a send's exception so a send racing a close doesn't log as never retrieved."""
    if not future.cancelled():
        future.exception()
