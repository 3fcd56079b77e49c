"""Kernel messages the relay writes itself: a cell that was not run, and why.

When a cell's files could not reach the machine (see workspace_gate.py) the cell is answered
here, in the browser's own protocol, the way a kernel answers a failed cell: an ``error`` output
and ``status: idle`` on iopub, an ``execute_reply`` with status ``error`` on shell. JupyterLab
shows the error in the cell and, as after any failed cell, stops a "run all" there.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

from .kernel_frames import V1_PROTOCOL

WORKSPACE_ERROR_NAME = "CloudLabWorkspaceError"
# The session id of the relay's own messages (a kernel's are its own random id).
RELAY_SESSION = "cloudlab-relay"


def request_header(frame: str | bytes, protocol: str | None) -> dict[str, Any]:
    """The header of a browser's request frame (the parent of the relay's answer)."""
    if isinstance(frame, str):
        header = json.loads(frame).get("header")
    elif protocol == V1_PROTOCOL:
        offsets = [int.from_bytes(frame[8 + 8 * i : 16 + 8 * i], "little") for i in range(3)]
        header = json.loads(frame[offsets[1] : offsets[2]])
    else:
        start, end = int.from_bytes(frame[4:8], "big"), int.from_bytes(frame[8:12], "big")
        header = json.loads(frame[start:end]).get("header")
    return header if isinstance(header, dict) else {}


def cell_not_run(parent: dict[str, Any], protocol: str | None, reason: str) -> list[str | bytes]:
    """The frames that answer execute request ``parent`` with an error saying ``reason``."""
    error = {"ename": WORKSPACE_ERROR_NAME, "evalue": reason, "traceback": [reason]}
    return [
        _frame("iopub", "error", parent, error, protocol),
        _frame("iopub", "status", parent, {"execution_state": "idle"}, protocol),
        _frame(
            "shell",
            "execute_reply",
            parent,
            {"status": "error", "execution_count": None, **error},
            protocol,
        ),
    ]


def _frame(
    channel: str,
    msg_type: str,
    parent: dict[str, Any],
    content: dict[str, Any],
    protocol: str | None,
) -> str | bytes:
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "session": RELAY_SESSION,
        "username": str(parent.get("username", "")),
        "date": datetime.now(timezone.utc).isoformat(),
        "version": str(parent.get("version", "5.3")),
    }
    if protocol == V1_PROTOCOL:
        parts = [json.dumps(part).encode() for part in (header, parent, {}, content)]
        return bytes(serialize_msg_to_ws_v1(parts, channel))
    message = {
        "header": header,
        "msg_id": header["msg_id"],
        "msg_type": msg_type,
        "parent_header": parent,
        "metadata": {},
        "content": content,
        "buffers": [],
        "channel": channel,
    }
    return json.dumps(message)
