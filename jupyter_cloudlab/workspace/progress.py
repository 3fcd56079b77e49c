"""Progress of one push or pull, told to the user only when it lasts: nothing in the first
second, then a few notices a second at most, and a last one when a told transfer ends."""

from __future__ import annotations

import time
from collections.abc import Callable

SILENT_FOR_S = 1.0
EVERY_S = 0.25


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
    """How many pushes and pulls run now, across a machine's folders (idle-stop asks)."""

    def __init__(self) -> None:
        self.running = 0

    def __enter__(self) -> Activity:
        self.running += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.running -= 1
