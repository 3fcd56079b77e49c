"""Runs ON the machine, beside cloudlab_server (uploaded with it). Kernel activity for the
culler, read from each IOPub message's headers only.

jupyter_server's own watcher deserializes every IOPub message with the kernel's key: an HMAC of
the whole message, output included, after copying it out of ZMQ. For large outputs that was a
quarter of the machine server's CPU (py-spy, 20 x 1 MB outputs), spent on messages it then reads
only the type of. This watcher reads the header, the parent header and, for status messages, the
content, from ZMQ's frames without copying the rest. It does not check the signature again: the
messages come from the kernel's own IOPub socket (a subscriber only hears the publisher it
connected to) and decide nothing but when the culler may act, as they did before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from jupyter_client.session import DELIM

# After the delimiter: signature, header, parent header, metadata, content.
HEADER, PARENT, CONTENT = 2, 3, 5


def watch_activity(manager: Any, kernel_id: str) -> None:
    """Replace the kernel's IOPub watcher (set up by ``start_watching_activity``) by ours."""
    kernel = manager._kernels[kernel_id]
    stream = getattr(kernel, "_activity_stream", None)
    if stream is None:
        return

    def record(frames: Sequence[Any]) -> None:
        _record(manager, kernel, frames)

    stream.on_recv(record, copy=False)  # ZMQ frames: only the small parts are read


def _record(manager: Any, kernel: Any, frames: Sequence[Any]) -> None:
    """What the stock watcher records: activity on tracked messages (and on any while busy), and
    the execution state from status messages."""
    try:
        start = next(i for i, f in enumerate(frames) if len(f) == len(DELIM) and _bytes(f) == DELIM)
        header = kernel.session.unpack(_bytes(frames[start + HEADER]))
        parent = kernel.session.unpack(_bytes(frames[start + PARENT]))
        msg_type = header["msg_type"]
    except (StopIteration, IndexError, KeyError, TypeError, ValueError):
        return  # not a kernel message: the stock watcher would have failed on it too
    tracked_parent = manager.track_message_type(parent.get("msg_type"))
    if manager.track_message_type(msg_type) or tracked_parent or kernel.execution_state == "busy":
        manager.last_kernel_activity = kernel.last_activity = datetime.now(timezone.utc)
    if msg_type != "status":
        return
    try:
        state = kernel.session.unpack(_bytes(frames[start + CONTENT]))["execution_state"]
    except (IndexError, KeyError, TypeError, ValueError):
        return
    if tracked_parent:
        kernel.execution_state = state
        # The running cell's request, for a notice written into its output (the guard's).
        if parent.get("msg_type") == "execute_request":
            kernel.cloudlab_running = parent if state == "busy" else None
    elif kernel.execution_state == "starting" and state != "starting":
        kernel.execution_state = "idle"  # as the stock watcher: settled, whatever caused it


def _bytes(frame: Any) -> bytes:
    """A ZMQ frame's bytes (a copy of that part only)."""
    return frame.bytes if hasattr(frame, "bytes") else bytes(frame)
