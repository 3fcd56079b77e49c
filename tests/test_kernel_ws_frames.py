"""The relay's reader of a machine server's websocket frames (kernels/relay/ws_frames.py), fed frames written by
an independent implementation (wsproto, as a server) in every split a TCP stream can make."""

from __future__ import annotations

import pytest
from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode

from jupyter_cloudlab.kernels.relay.ws_frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    WHOLE_FRAME_BYTES,
    Control,
    FrameReader,
    Piece,
    ProtocolViolation,
    frame_header,
)

SERVER = FrameProtocol(client=False, extensions=[])


def read_all(data: bytes, chunk: int) -> list[Piece | Control]:
    """Everything the reader hands out when ``data`` arrives ``chunk`` bytes at a time."""
    reader, events = FrameReader(), []
    for start in range(0, len(data), chunk):
        reader.feed(data[start : start + chunk])
        while (event := reader.next()) is not None:
            events.append(event)
    return events


def messages(events: list[Piece | Control]) -> list[tuple[bool, bytes]]:
    """The data messages the pieces make up: (binary, payload)."""
    done, parts = [], []
    for event in events:
        if isinstance(event, Piece):
            assert event.first == (not parts)
            parts.append(bytes(event.data))
            if event.last:
                done.append((event.binary, b"".join(parts)))
                parts = []
    assert not parts, "a message was left unfinished"
    return done


STREAM = b"".join(
    [
        bytes(SERVER.send_data(b"small v1 frame" * 10, fin=True)),
        bytes(SERVER.send_data("text ✓", fin=True)),
        bytes(SERVER.send_data(bytes(range(256)) * 1000, fin=True)),  # 256 KB: in pieces
        bytes(SERVER.send_data(b"part one, ", fin=False)),
        bytes(SERVER.ping(b"are you there")),  # control frames may come between fragments
        bytes(SERVER.send_data(b"part two", fin=True)),
        bytes(SERVER.close(CloseReason.GOING_AWAY, "bye")),
    ]
)


@pytest.mark.parametrize("chunk", [1, 7, 1000, 65536, len(STREAM)])
def test_every_split_of_the_stream_gives_the_same_messages_and_controls(chunk: int) -> None:
    events = read_all(STREAM, chunk)
    assert messages(events) == [
        (True, b"small v1 frame" * 10),
        (False, "text ✓".encode()),
        (True, bytes(range(256)) * 1000),
        (True, b"part one, part two"),
    ]
    controls = [e for e in events if isinstance(e, Control)]
    assert [c.opcode for c in controls] == [OP_PING, OP_CLOSE]
    assert controls[0].payload == b"are you there"
    assert controls[1].close_code_and_reason() == (1001, "bye")


@pytest.mark.parametrize("chunk", [1, 100, 65536])
def test_a_message_in_one_small_frame_keeps_its_bytes_to_pass_on(chunk: int) -> None:
    whole = [e for e in read_all(STREAM, chunk) if isinstance(e, Piece) and e.frame is not None]
    # The two small single-frame messages, exactly as the machine server framed them; not the large one
    # (handed out in pieces as it arrives) nor the fragmented one
    assert [e.frame for e in whole] == [
        bytes(SERVER.send_data(b"small v1 frame" * 10, fin=True)),
        bytes(SERVER.send_data("text ✓", fin=True)),
    ]
    assert all(bytes(e.data) == e.frame[-len(e.data) :] for e in whole)


def test_a_large_frame_is_handed_out_as_it_arrives_not_held_whole() -> None:
    payload = bytes(5 * WHOLE_FRAME_BYTES)
    frame = bytes(SERVER.send_data(payload, fin=True))
    reader = FrameReader()
    reader.feed(frame[: len(frame) // 5])
    first = reader.next()
    assert isinstance(first, Piece) and first.first and not first.last
    assert 0 < len(first.data) < len(payload) // 4


def test_an_empty_close_frame_means_no_status() -> None:
    (close,) = read_all(bytes(SERVER.close()), 1)
    assert isinstance(close, Control) and close.close_code_and_reason() == (1005, "")


@pytest.mark.parametrize(
    "data, problem",
    [
        (bytes(FrameProtocol(client=True, extensions=[]).send_data(b"x")), "masked"),
        (bytes([0x80 | 0x40 | OP_BINARY, 1]) + b"x", "reserved bits"),
        (bytes([0x80 | Opcode.CONTINUATION, 1]) + b"x", "continuation"),
        (bytes([OP_TEXT, 1]) + b"a" + bytes([0x80 | OP_BINARY, 1]) + b"b", "inside"),
        (bytes([OP_PING, 0]), "control frame"),
        (bytes([0x80 | 0x3, 0]), "opcode"),
    ],
)
def test_a_broken_stream_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(ProtocolViolation, match=problem):
        read_all(data, len(data))


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 10_000_000])
def test_headers_written_to_the_browser_are_read_back_by_wsproto(length: int) -> None:
    client = FrameProtocol(client=True, extensions=[])
    client.receive_bytes(frame_header(OP_BINARY, True, length) + bytes(length))
    (frame,) = list(client.received_frames())
    assert frame.opcode is Opcode.BINARY and frame.frame_finished and len(frame.payload) == length
