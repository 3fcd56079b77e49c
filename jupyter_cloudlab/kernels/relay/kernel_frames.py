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


def execute_request_id(frame: str | bytes, protocol: str | None) -> str | None:
    """The msg_id of a browser frame when it is a shell ``execute_request``, else None.

    Runs on every browser frame of a mirrored kernel, so it decodes nothing unless the name
    ``execute_request`` appears: in a v1 frame only the channel and the header are looked at.
    """
    try:
        if isinstance(frame, str):
            if "execute_request" not in frame:
                return None
            message = json.loads(frame)
            return _id_if(message.get("channel"), message.get("header"), "shell", "execute_request")
        if protocol == V1_PROTOCOL:
            channel, header = _v1_parts(frame, 2)
            if channel != b"shell" or b"execute_request" not in header:
                return None
            return _id_if("shell", json.loads(header), "shell", "execute_request")
        first = _legacy_first_part(frame)
        if b"execute_request" not in first:
            return None
        message = json.loads(first)
        return _id_if(message.get("channel"), message.get("header"), "shell", "execute_request")
    except (ValueError, TypeError, AttributeError, IndexError, struct.error):
        return None


def idle_parent_id(data: bytes, binary: bool, protocol: str | None) -> str | None:
    """The parent msg_id of a machine frame when it is an iopub ``status: idle``, else None.
    Meant for small frames (a status message is a few hundred bytes)."""
    if b"idle" not in data:
        return None
    try:
        if not binary:
            message = json.loads(data)
            channel, header = message.get("channel"), message.get("header")
            parent, content = message.get("parent_header"), message.get("content")
        elif protocol == V1_PROTOCOL:
            raw_channel, raw_header, raw_parent, _, raw_content = _v1_parts(data, 5)
            channel, header = raw_channel.decode(), json.loads(raw_header)
            parent, content = json.loads(raw_parent), json.loads(raw_content)
        else:
            return None  # the legacy binary form carries buffers: never a status message
        if channel != "iopub" or not isinstance(header, dict) or header.get("msg_type") != "status":
            return None
        if not isinstance(content, dict) or content.get("execution_state") != "idle":
            return None
        return _msg_id(parent)
    except (ValueError, TypeError, AttributeError, IndexError, UnicodeDecodeError):
        return None


def _v1_parts(frame: bytes, wanted: int) -> list[bytes]:
    """The first ``wanted`` parts of a v1 frame (channel, header, parent, metadata, content)."""
    count = int.from_bytes(frame[:8], "little")
    if count < wanted + 1:
        raise ValueError("not a v1 kernel frame")
    offsets = [int.from_bytes(frame[8 + 8 * i : 16 + 8 * i], "little") for i in range(wanted + 1)]
    return [frame[offsets[i] : offsets[i + 1]] for i in range(wanted)]


def _id_if(channel: Any, header: Any, want_channel: str, want_type: str) -> str | None:
    if channel != want_channel or not isinstance(header, dict):
        return None
    return _msg_id(header) if header.get("msg_type") == want_type else None
