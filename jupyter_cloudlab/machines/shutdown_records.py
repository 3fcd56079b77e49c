"""The machine's own record of why it shut itself down: `~/.cloudlab/shutdown.json`
(`{"reason": "idle"|"budget"|"spot"|..., "at": ISO time, "detail": "..."}`), written by its
idle/budget watcher just before `shutdown -h`.

EC2 only says "the instance shut itself down"; this file says why. The machine is gone by the
time its tunnel says so, so the file is read while the machine is ready, over the link's SFTP,
every few seconds (a stat when nothing changed), and the last record is kept. What the machine
wrote is untrusted: bounded, checked, and shown only as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

log = logging.getLogger(__name__)

RECORD_PATH = ".cloudlab/shutdown.json"  # relative to the SSH user's home, where SFTP starts
RECORD_MAX_BYTES = 4096
DETAIL_MAX_CHARS = 200
POLL_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 3.0
# A record written before the machine became ready (minus clock skew) is an older stop's.
CLOCK_SKEW = timedelta(seconds=60)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SENTENCES = {
    "idle": "The machine stopped itself: it was idle",
    "budget": "The machine stopped itself: its budget was reached",
    "spot": "AWS interrupted this spot machine (its interruption notice came)",
    "after_cell": "The machine stopped itself once the cell you marked had finished",
}


@dataclass(frozen=True)
class ShutdownRecord:
    reason: str
    at: datetime
    detail: str = ""

    def sentence(self) -> str:
        text = _SENTENCES.get(self.reason, f"The machine shut itself down ({self.reason})")
        if self.detail:
            text += f": {self.detail}"
        return text + f", at {self.at.astimezone(timezone.utc):%H:%M} UTC."

    def explains_stop_after(self, ready_since: datetime) -> bool:
        """Whether this record is of a shutdown after the machine last became ready."""
        return self.at >= ready_since - CLOCK_SKEW


def parse(raw: bytes) -> ShutdownRecord | None:
    """The record in `raw`, or None when it is not one (too big, not JSON, wrong fields)."""
    if len(raw) > RECORD_MAX_BYTES:
        return None
    try:
        data = json.loads(raw)
        reason, at = data["reason"], datetime.fromisoformat(data["at"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(reason, str) or not re.fullmatch(r"[a-z_-]{1,32}", reason):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    detail = data.get("detail") or ""
    detail = _CONTROL.sub(" ", detail)[:DETAIL_MAX_CHARS].strip() if isinstance(detail, str) else ""
    return ShutdownRecord(reason, at, detail)


class Sftp(Protocol):
    """What is used of asyncssh's SFTP client."""

    async def stat(self, path: str) -> Any: ...

    def open(self, path: str, mode: str = "r") -> Any: ...


async def read(sftp: Sftp) -> ShutdownRecord | None:
    """The machine's record, if it has one."""
    async with sftp.open(RECORD_PATH, "rb") as handle:
        return parse(await handle.read(RECORD_MAX_BYTES + 1))


SftpOf = Callable[[str], Callable[[], Awaitable[Any]] | None]
"""A machine's link's SFTP opener (`MachineLink.sftp`), or None when it has no link."""


class ShutdownRecords:
    """The last record read from each ready machine, polled in one background task."""

    def __init__(self, ready_machines: Callable[[], list[str]], sftp_of: SftpOf) -> None:
        self._ready_machines = ready_machines
        self._sftp_of = sftp_of
        self._records: dict[str, ShutdownRecord] = {}
        self._seen_mtime: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def latest(self, machine_id: str) -> ShutdownRecord | None:
        return self._records.get(machine_id)

    def ensure_polling(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def look(self, machine_id: str) -> None:
        """Read the machine's record now if it changed (a failure is the next poll's turn)."""
        opener = self._sftp_of(machine_id)
        if opener is None:
            return
        try:
            sftp = await asyncio.wait_for(opener(), READ_TIMEOUT_SECONDS)
            attrs = await asyncio.wait_for(sftp.stat(RECORD_PATH), READ_TIMEOUT_SECONDS)
            if attrs.mtime == self._seen_mtime.get(machine_id):
                return
            record = await asyncio.wait_for(read(sftp), READ_TIMEOUT_SECONDS)
        except Exception as error:  # no file yet, the link down, the machine going away
            log.debug("No shutdown record read from %s: %s", machine_id, error)
            return
        self._seen_mtime[machine_id] = attrs.mtime
        if record is not None:
            self._records[machine_id] = record

    async def _poll(self) -> None:
        while True:
            for machine_id in self._ready_machines():
                await self.look(machine_id)
            await asyncio.sleep(POLL_SECONDS)
