"""Runs ON the machine, beside cloudlab_server (uploaded with it). The log of frames sent to a
kernel's client session, resent after a link that died silently (see cloudlab_server), and
reading a frame's header without parsing the rest.
"""

from __future__ import annotations

import json
import struct
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
# Ids remembered per session (also of frames already let go), so a resume point is found even
# when its frame is gone.
RESUME_MAX_IDS = 20_000


class SentFrame:
    """One message written to a session: its frame while the log keeps it, and the newest
    connection (generation) it was written to."""

    __slots__ = ("binary", "frame", "generation", "output", "parent", "size")

    def __init__(self, frame: str | bytes, binary: bool, generation: int, output: bool) -> None:
        self.frame: str | bytes | None = frame
        self.binary = binary
        self.size = len(frame)
        self.generation = generation
        self.output = output
        self.parent: dict[str, Any] = {}
        """The parent header of an output let go (its cell), for the notice that it is lost."""


class SentLog:
    """The frames sent to one kernel + session, oldest first, bounded: outputs (the machine server's
    DROPPABLE types) to ``max_bytes`` plus one frame, the rest (replies, status, comms: small, and
    a frontend waits for them) to ``max_bytes`` of their own, so output never pushes a reply out.

    An output is let go only once the outputs after it fill the bound: one output larger than the
    bound can still be resent when the link died while it was on its way (the frame was in memory
    anyway, being sent; it is let go when later output fills the bound)."""

    def __init__(self, max_bytes: int, protocol: str | None) -> None:
        self.max_bytes = max_bytes
        self.protocol = protocol
        self.sent: OrderedDict[str, SentFrame] = OrderedDict()
        self._kept: dict[bool, deque[SentFrame]] = {True: deque(), False: deque()}
        self._bytes = {True: 0, False: 0}
        self.generation = 0
        # The session's newest connection, weakly (a ResumingConnection, or None once closed).
        self.current: Callable[[], Any] = lambda: None

    def delivered(self, msg_id: str, generation: int) -> bool:
        """Whether ``msg_id`` was already written to that connection (or a newer one)."""
        entry = self.sent.get(msg_id)
        return entry is not None and entry.generation >= generation

    def record(
        self, msg_id: str, frame: str | bytes, binary: bool, generation: int, output: bool
    ) -> None:
        entry = self.sent.get(msg_id)
        if entry is not None:
            entry.generation = generation
            return
        entry = SentFrame(frame, binary, generation, output)
        self.sent[msg_id] = entry
        self._kept[output].append(entry)
        self._bytes[output] += entry.size
        while len(self.sent) > RESUME_MAX_IDS:
            self._forget(self.sent.popitem(last=False)[1])
        outputs, others = self._kept[True], self._kept[False]
        while outputs and (
            outputs[0].frame is None or self._bytes[True] - outputs[0].size >= self.max_bytes
        ):
            self._forget(outputs.popleft())
        while others and (others[0].frame is None or self._bytes[False] > self.max_bytes):
            self._forget(others.popleft())

    def _forget(self, entry: SentFrame) -> None:
        if entry.frame is not None:
            if entry.output:
                entry.parent = _frame_part(entry.frame, self.protocol, 1) or {}
            entry.frame = None
            self._bytes[entry.output] -= entry.size

    def after(self, msg_id: str) -> tuple[list[tuple[str, str | bytes, bool]], list[SentFrame]]:
        """The kept frames to resend after ``msg_id`` (all when it is not known), and the outputs
        after it that were let go: reported once, so they leave the log here."""
        items = list(self.sent.items())
        start = next((i + 1 for i, (key, _) in enumerate(items) if key == msg_id), 0)
        frames, lost = [], []
        for key, entry in items[start:]:
            if entry.frame is not None:
                frames.append((key, entry.frame, entry.binary))
            elif entry.output and start:
                lost.append(entry)
                del self.sent[key]
        return frames, lost


def frame_msg_id(frame: str | bytes, protocol: str | None) -> str | None:
    """The header msg_id of a frame as written to a client (v1 binary, legacy JSON text or legacy
    binary), reading only the header where it can. (The laptop side has its own copy.)"""
    msg_id = (_frame_part(frame, protocol, 0) or {}).get("msg_id")
    return msg_id if isinstance(msg_id, str) and msg_id else None


def _frame_part(frame: str | bytes, protocol: str | None, index: int) -> dict[str, Any] | None:
    """The header (``index`` 0) or parent header (1) of a frame written to a client."""
    key = ("header", "parent_header")[index]
    try:
        if isinstance(frame, str):
            part = json.loads(frame).get(key)
        elif protocol == V1_PROTOCOL:  # offsets: count, channel, header, parent, ...
            at = 16 + 8 * index
            start = int.from_bytes(frame[at : at + 8], "little")
            end = int.from_bytes(frame[at + 8 : at + 16], "little")
            part = json.loads(frame[start:end])
        else:
            (count,) = struct.unpack("!I", frame[:4])
            (start,) = struct.unpack("!I", frame[4:8])
            end = struct.unpack("!I", frame[8:12])[0] if count > 1 else len(frame)
            part = json.loads(frame[start:end]).get(key)
    except (ValueError, TypeError, AttributeError, struct.error):
        return None
    return part if isinstance(part, dict) else None
