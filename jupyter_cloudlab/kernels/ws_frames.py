"""Websocket frames as bytes (RFC 6455, section 5.2): read from a gateway, written to a browser.

The relay reads its gateway's frames itself rather than through wsproto (which still does the
handshake and writes the relay's own frames): wsproto turns every frame into an event object and
copies its payload through two buffers, and hands out the payload only. Per small frame that was
a fifth of the relay's CPU. Here a message that arrives as one frame keeps its bytes, header
included, and the browser is sent those very bytes: a server's frames are unmasked, both from the
gateway and to the browser, and neither hop negotiates an extension. A larger frame is handed out
in pieces while it arrives, never held whole.
"""

from __future__ import annotations

import struct
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
    """The payload bytes of this piece (UTF-8 when not ``binary``)."""
    binary: bool
    first: bool
    """It starts a message."""
    last: bool
    """It ends the message."""
    frame: bytes | None = None
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
    """Splits the bytes a websocket server sends into pieces of messages and control frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._remaining = 0
        """Payload bytes still to come of the data frame being handed out in pieces."""
        self._frame_fin = False
        self._in_message = False
        self._message_binary = False
        self._message_started = False
        """A piece of the current message was handed out."""

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next(self) -> Piece | Control | None:
        """The next piece or control frame out of what was fed; None until more bytes come."""
        if self._remaining:
            return self._next_part() if self._buffer else None
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        head, second = buffer[0], buffer[1]
        if second & 0x80:
            raise ProtocolViolation("a server's frame was masked")
        if head & 0x70:
            raise ProtocolViolation("reserved bits set without an extension")
        length, offset = second & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return None
            (length,), offset = struct.unpack_from("!H", buffer, 2), 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            (length,), offset = struct.unpack_from("!Q", buffer, 2), 10
        opcode, fin = head & 0x0F, bool(head & _FIN)
        if opcode & 0x8:
            return self._control(opcode, fin, offset, length)
        end = offset + length
        if len(buffer) < end and length <= WHOLE_FRAME_BYTES:
            return None  # a small frame: wait for all of it
        self._check_sequence(opcode)
        if len(buffer) >= end:
            frame = bytes(buffer[:end])
            del buffer[:end]
            return self._piece(memoryview(frame)[offset:], fin, frame_done=True, frame=frame)
        del buffer[:offset]
        self._remaining, self._frame_fin = length, fin
        return self._next_part()

    def _control(self, opcode: int, fin: bool, offset: int, length: int) -> Control | None:
        if not fin or length > 125:
            raise ProtocolViolation("a control frame was fragmented or longer than 125 bytes")
        if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
            raise ProtocolViolation(f"unknown opcode {opcode:#x}")
        if len(self._buffer) < offset + length:
            return None
        payload = bytes(self._buffer[offset : offset + length])
        del self._buffer[: offset + length]
        return Control(opcode, payload)

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
        take = min(self._remaining, len(self._buffer))
        data = bytes(self._buffer[:take])
        del self._buffer[:take]
        self._remaining -= take
        return self._piece(data, self._frame_fin, frame_done=not self._remaining, frame=None)

    def _piece(
        self, data: bytes | memoryview, fin: bool, frame_done: bool, frame: bytes | None
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
