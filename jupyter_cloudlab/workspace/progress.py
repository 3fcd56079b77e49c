"""Progress of one push or pull, told to the user only when it lasts: nothing in the first
second, then a few notices a second at most, and a last one when a told transfer ends."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

SILENT_FOR_S = 1.0
EVERY_S = 0.25
MARKER_AFTER_S = 5.0
MARKER_EVERY_S = 30.0  # the machine counts the marker while it is under 120 s old


class Progress:
    """Counts bytes across the files of one push or pull; calls TELL(done, total, final)."""

    def __init__(self, total: int, tell: Callable[[int, int, bool], None]) -> None:
        self.total = total
        self.done = 0
        self._tell = tell
        self._started = time.monotonic()
        self._last_told: float | None = None

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._started < SILENT_FOR_S:
            return
        if self._last_told is None or now - self._last_told >= EVERY_S:
            self._last_told = now
            self._tell(self.done, self.total, False)

    def finish(self) -> None:
        """The last word, only to those who heard the first."""
        if self._last_told is not None:
            self._tell(self.done, self.total, True)


class Activity:
    """How many pushes and pulls run now, across a machine's folders (idle-stop asks).

    With a MARKER (``mark(True)`` touches the machine's ``~/.cloudlab/transfer-active``,
    ``mark(False)`` removes it), a transfer that lasts past ``MARKER_AFTER_S`` keeps it fresh
    every ``MARKER_EVERY_S`` until none runs: the machine's guard counts it as activity while its
    mtime is under two minutes old. Shorter transfers cost no round trip (a cell runs meanwhile).
    """

    def __init__(self, mark: Callable[[bool], Awaitable[None]] | None = None) -> None:
        self.running = 0
        self.mark = mark
        self._marking: asyncio.Task[None] | None = None
        self._unmarking: asyncio.Task[None] | None = None

    def __enter__(self) -> Activity:
        self.running += 1
        if self.running == 1 and self.mark is not None and self._marking is None:
            self._marking = asyncio.get_running_loop().create_task(self._keep_marked(self.mark))
        return self

    def __exit__(self, *exc: object) -> None:
        self.running -= 1
        if self.running == 0 and self._marking is not None:
            self._marking.cancel()
            self._marking = None

    async def _keep_marked(self, mark: Callable[[bool], Awaitable[None]]) -> None:
        marked = False
        try:
            await asyncio.sleep(MARKER_AFTER_S)
            while True:
                with contextlib.suppress(Exception):  # a broken link: the transfer fails too
                    await mark(True)
                    marked = True
                await asyncio.sleep(MARKER_EVERY_S)
        finally:
            if marked:  # the machine may be idle again at once, not two minutes later
                self._unmarking = asyncio.get_running_loop().create_task(_quietly(mark(False)))


async def _quietly(step: Awaitable[None]) -> None:
    with contextlib.suppress(Exception):
        await step
