"""Launches' idle limits that their machines have not been sent yet.

A machine's idle limit is its own once set: its guard keeps it on the machine's disk, where
`jupyter cloudlab idle` may change it while this server is off. So a launch's limit is sent once,
at the machine's first ready, and then forgotten: a later start never overwrites the machine's
limit with a stale one. Until it is sent it lives in the data folder
(`launch_idle_limits.json`, beside `machines.json`), so a server restarted between the launch
and the first ready still sends it. Without a file (tests) it is kept in memory only.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from ..json_files import read_json, write_json


class LaunchIdleLimits:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._in_memory: dict[str, float] = {}

    def expect(self, machine_id: str, minutes: float, known: Collection[str]) -> None:
        """Keep MINUTES for the machine's first ready. Entries of machines no longer KNOWN
        (terminated before they were ever ready) go: the file follows the machines' records."""
        limits = {m: v for m, v in self._read().items() if m in known}
        limits[machine_id] = minutes
        self._write(limits)

    def pending(self, machine_id: str) -> float | None:
        """The launch's limit while the machine has not been sent it."""
        return self._read().get(machine_id)

    def sent(self, machine_id: str) -> None:
        """The machine's guard has it: never send it again."""
        limits = self._read()
        if limits.pop(machine_id, None) is not None:
            self._write(limits)

    def _read(self) -> dict[str, float]:
        if self._path is None:
            return dict(self._in_memory)
        try:
            raw = read_json(self._path) or {}
        except ValueError:
            return {}  # a torn file is not expected (atomic writes); the default limit stays
        if not isinstance(raw, dict):
            return {}
        return {
            str(m): float(v)
            for m, v in raw.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }

    def _write(self, limits: dict[str, float]) -> None:
        if self._path is None:
            self._in_memory = dict(limits)
        else:
            write_json(self._path, limits)
