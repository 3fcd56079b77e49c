"""Reading the ``msg_id`` of a kernel websocket frame without decoding the whole message.

The relay remembers the id of the last frame it delivered to the browser and, when it reconnects
upstream, asks the machine server to resume after it (``resume_after``). Frames are as jupyter_server
writes them: v1 binary (``v1.kernel.websocket.jupyter.org``: offsets, channel, then header,
parent, metadata, content, buffers), or legacy: JSON text, or binary with buffers (offsets, then
the JSON message without its buffers).
"""

from __future__ import annotations

import json
import struct
from typing import Any

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


def frame_msg_id(frame: str | bytes, protocol: str | None = V1_PROTOCOL) -> str | None:
    """The header ``msg_id`` of a frame sent in ``protocol`` (None or "" for legacy); None when
    the frame is not a kernel message."""
    try:
        if isinstance(frame, str):
            return _msg_id(json.loads(frame).get("header"))
        if protocol == V1_PROTOCOL:
            return _msg_id(json.loads(_v1_header(frame)))
        return _msg_id(json.loads(_legacy_first_part(frame)).get("header"))
    except (ValueError, TypeError, AttributeError, IndexError, struct.error):
        return None


def _v1_header(frame: bytes) -> bytes:
    """The header part of a v1 frame: offsets[1] to offsets[2] (offsets[0] starts the channel)."""
    count = int.from_bytes(frame[:8], "little")
    if count < 3:
        raise ValueError("not a v1 kernel frame")
    start = int.from_bytes(frame[16:24], "little")
    end = int.from_bytes(frame[24:32], "little")
    return frame[start:end]


def _legacy_first_part(frame: bytes) -> bytes:
    """The JSON part of a legacy binary frame (the message without its buffers)."""
    (count,) = struct.unpack("!I", frame[:4])
    if count < 1:
        raise ValueError("not a legacy kernel frame")
    (start,) = struct.unpack("!I", frame[4:8])
    end = struct.unpack("!I", frame[8:12])[0] if count > 1 else len(frame)
    return frame[start:end]


def _msg_id(header: Any) -> str | None:
    msg_id = header.get("msg_id") if isinstance(header, dict) else None
    return msg_id if isinstance(msg_id, str) and msg_id else None
