"""Keeps a machine kernel's files in step with its cells, inside the relay.

Before a browser's ``execute_request`` goes to the machine, the kernel's workspace pushes what
changed locally (``KernelWorkspace.before_execute``); frames that came after it wait behind it,
so nothing overtakes a held cell. When the machine's kernel reports ``status: idle`` for that
request, the workspace brings back what the cell wrote (``after_execute``).

Cheap on the path every frame takes: a machine whose mirror is off costs one attribute read,
and a frame is decoded only when the name ``execute_request`` appears in it (kernel_frames.py);
machine frames are looked at only while a cell runs, and only the small ones (a status is a few
hundred bytes).

A push that fails does not run the cell without its files: the cell gets an error output
saying why and that it was not run (own_messages.py), and the request is not sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from ..kernel_files import KernelWorkspace
from .kernel_frames import execute_request_id, idle_parent_id
from .own_messages import cell_not_run, request_header
from .ws_frames import Piece

# Machine frames larger than this are not status messages (they are skipped unread).
IDLE_SCAN_BYTES = 4096
# Cells whose idle was never seen (the browser left mid-cell) are forgotten past this many.
MAX_RUNNING_CELLS = 1000

log = logging.getLogger(__name__)


class MirroredKernel(Protocol):
    @property
    def mirrored(self) -> bool: ...

    async def workspace(self) -> KernelWorkspace | None: ...


def not_run_reason(problem: str) -> str:
    return (
        f"Your local files could not be sent to the machine before this cell ({problem}). "
        "The cell was not run: run it again once the machine is reachable, or turn the "
        "machine's mirror off in the CloudLab panel."
    )


class WorkspaceGate:
    def __init__(
        self,
        kernel: MirroredKernel,
        protocol: str | None,
        forward: Callable[[str | bytes], None],
        write_own: Callable[[str | bytes], Awaitable[None]],
    ) -> None:
        self._kernel = kernel
        self._protocol = protocol
        self._forward = forward
        self._write_own = write_own
        self._held: deque[str | bytes] = deque()
        self._draining: asyncio.Task[None] | None = None
        self._running: OrderedDict[str, KernelWorkspace] = OrderedDict()
        """Cells sent to the machine whose idle has not come yet, by request msg_id."""

    def submit(self, frame: str | bytes) -> None:
        """A browser frame: forwarded now, or held behind a cell whose files are being pushed."""
        if self._held:
            self._held.append(frame)
        elif not self._kernel.mirrored or execute_request_id(frame, self._protocol) is None:
            self._forward(frame)
        else:
            self._held.append(frame)
            self._draining = asyncio.create_task(self._drain())

    def machine_piece(self, piece: Piece) -> None:
        """A piece from the machine: a running cell's idle status starts its pull."""
        if not self._running or not (piece.first and piece.last):
            return
        if len(piece.data) > IDLE_SCAN_BYTES:
            return
        parent = idle_parent_id(bytes(piece.data), piece.binary, self._protocol)
        workspace = self._running.pop(parent, None) if parent is not None else None
        if workspace is not None:
            try:
                workspace.after_execute()
            except Exception:  # the Protocol says it never raises; a bug must not end the relay
                log.exception("Bringing back the files of a cell failed")

    def close(self) -> None:
        self._held.clear()
        if self._draining is not None:
            self._draining.cancel()

    async def _drain(self) -> None:
        while self._held:
            frame = self._held[0]
            msg_id = execute_request_id(frame, self._protocol) if self._kernel.mirrored else None
            problem = await self._push(msg_id) if msg_id is not None else None
            self._held.popleft()
            if problem is None:
                self._forward(frame)
                continue
            log.warning("Cell %s not run: its files could not be pushed: %s", msg_id, problem)
            try:
                parent = request_header(frame, self._protocol)
                for own in cell_not_run(parent, self._protocol, not_run_reason(problem)):
                    await self._write_own(own)
            except Exception:
                log.exception("Telling the browser about cell %s failed", msg_id)

    async def _push(self, msg_id: str) -> str | None:
        """Push the workspace before cell ``msg_id``; the problem when it failed, else None."""
        try:
            workspace = await self._kernel.workspace()
            if workspace is None:
                return None
            await workspace.before_execute()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            return str(e) or type(e).__name__
        self._running[msg_id] = workspace
        while len(self._running) > MAX_RUNNING_CELLS:
            self._running.popitem(last=False)
        return None
