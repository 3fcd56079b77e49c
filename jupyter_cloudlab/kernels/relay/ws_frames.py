"""Websocket frames as bytes (RFC 6455, section 5.2): read from a machine server, written to a browser.

The relay reads its machine server's frames itself rather than through wsproto (which still does the
handshake and writes the relay's own frames): wsproto turns every frame into an event object and
copies its payload through two buffers, and hands out the payload only. Per small frame that was
a fifth of the relay's CPU. Here a message that arrives as one frame keeps its bytes, header
included, and the browser is sent those very bytes: a server's frames are unmasked, both from the
machine server and to the browser, and neither hop negotiates an extension. A larger frame is handed out
in pieces while it arrives, never held whole.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
_FIN = 0x80
# A frame up to this size is handed out whole (waiting for the rest of it if need be), so it can
# be passed on as it came; a larger one in pieces as they arrive.
WHOLE_FRAME_BYTES = 64 * 1024
# 1005: a close frame without a status code (RFC 6455, 7.1.5).
NO_STATUS = 1005


class ProtocolViolation(Exception):
    """The peer broke the framing rules; the connection must end (close code 1002)."""


@dataclass(frozen=True, slots=True)
class Piece:
    """Part of a data message, in arrival order."""

    data: bytes | memoryview
    """The payload bytes of this piece (UTF-8 when not ``binary``); a view into what was read."""
    binary: bool
    first: bool
    """It starts a message."""
    last: bool
    """It ends the message."""
    frame: memoryview | None = None
    """The whole websocket frame, header included, when the message came as this one piece."""


@dataclass(frozen=True, slots=True)
class Control:
    """A ping, pong or close frame."""

    opcode: int
    payload: bytes

    def close_code_and_reason(self) -> tuple[int, str]:
        if len(self.payload) < 2:
            return NO_STATUS, ""
        (code,) = struct.unpack("!H", self.payload[:2])
        return code, self.payload[2:].decode("utf-8", "replace")


class FrameReader:
    """Splits the bytes a websocket server sends into pieces of messages and control frames.

    The bytes stay in the chunks they were received in: pieces are views into them, so a large
    output is not copied on its way through (only a header or a small frame split across two
    chunks is joined)."""

    def __init__(self) -> None:
        self._chunks: deque[memoryview] = deque()
        self.buffered = 0
        """Bytes fed and not handed out yet."""
        self._remaining = 0
        """Payload bytes still to come of the data frame being handed out in pieces."""
        self._frame_fin = False
        self._in_message = False
        self._message_binary = False
        self._message_started = False
        """A piece of the current message was handed out."""

    def feed(self, data: bytes) -> None:
        if data:
            self._chunks.append(memoryview(data))
            self.buffered += len(data)

    def next(self) -> Piece | Control | None:
        """The next piece or control frame out of what was fed; None until more bytes come."""
        if self._remaining:
            return self._next_part() if self._chunks else None
        head = self._front(2)
        if head is None:
            return None
        first, second = head[0], head[1]
        if second & 0x80:
            raise ProtocolViolation("a server's frame was masked")
        if first & 0x70:
            raise ProtocolViolation("reserved bits set without an extension")
        length, offset = second & 0x7F, 2
        if length >= 126:
            offset = 4 if length == 126 else 10
            if (head := self._front(offset)) is None:
                return None
            (length,) = struct.unpack_from("!H" if offset == 4 else "!Q", head, 2)
        opcode, fin = first & 0x0F, bool(first & _FIN)
        if opcode & 0x8:
            return self._control(opcode, fin, offset, length)
        end = offset + length
        if self.buffered < end and length <= WHOLE_FRAME_BYTES:
            return None  # a small frame: wait for all of it
        self._check_sequence(opcode)
        if length <= WHOLE_FRAME_BYTES or end <= len(self._chunks[0]):
            frame = self._take(end)
            return self._piece(frame[offset:], fin, frame_done=True, frame=frame)
        self._take(offset)
        self._remaining, self._frame_fin = length, fin
        return self._next_part() if self._chunks else None

    def _front(self, size: int) -> memoryview | None:
        """The first ``size`` bytes fed, as one view (None until there are that many)."""
        if self.buffered < size:
            return None
        if len(self._chunks[0]) < size:  # split across chunks: join those bytes, no more
            parts, missing = [], size
            while missing:
                chunk = self._chunks.popleft()
                if len(chunk) > missing:
                    self._chunks.appendleft(chunk[missing:])
                    chunk = chunk[:missing]
                parts.append(chunk)
                missing -= len(chunk)
            self._chunks.appendleft(memoryview(b"".join(parts)))
        return self._chunks[0][:size]

    def _take(self, size: int) -> memoryview:
        """Hand out the first ``size`` bytes (at most the first chunk's when streaming)."""
        view = self._front(size)
        assert view is not None
        rest = self._chunks[0][size:]
        if rest:
            self._chunks[0] = rest
        else:
            self._chunks.popleft()
        self.buffered -= size
        return view

    def _control(self, opcode: int, fin: bool, offset: int, length: int) -> Control | None:
        if not fin or length > 125:
            raise ProtocolViolation("a control frame was fragmented or longer than 125 bytes")
        if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
            raise ProtocolViolation(f"unknown opcode {opcode:#x}")
        if self.buffered < offset + length:
            return None
        return Control(opcode, bytes(self._take(offset + length)[offset:]))

    def _check_sequence(self, opcode: int) -> None:
        if opcode == OP_CONTINUATION:
            if not self._in_message:
                raise ProtocolViolation("a continuation frame outside a message")
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._in_message:
                raise ProtocolViolation("a new message inside a fragmented one")
            self._in_message, self._message_binary = True, opcode == OP_BINARY
            self._message_started = False
        else:
            raise ProtocolViolation(f"unknown opcode {opcode:#x}")

    def _next_part(self) -> Piece:
        size = min(self._remaining, len(self._chunks[0]))
        data = self._take(size)
        self._remaining -= size
        return self._piece(data, self._frame_fin, frame_done=not self._remaining, frame=None)

    def _piece(
        self, data: memoryview, fin: bool, frame_done: bool, frame: memoryview | None
    ) -> Piece:
        first, last = not self._message_started, fin and frame_done
        self._message_started = not last
        self._in_message = not last
        return Piece(data, self._message_binary, first, last, frame if first and last else None)


def frame_header(opcode: int, fin: bool, length: int) -> bytes:
    """The header of an unmasked frame (a server's: the relay's frames to the browser)."""
    head = (_FIN if fin else 0) | opcode
    if length < 126:
        return struct.pack("!BB", head, length)
    if length <= 0xFFFF:
        return struct.pack("!BBH", head, 126, length)
    return struct.pack("!BBQ", head, 127, length)
