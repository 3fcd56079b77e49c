"""Runs ON the machine, beside cloudlab_guard (uploaded with it; stdlib only). What counts as
activity, and when the machine should stop: the pure part of the guard, so each rule is tested
with plain values.

Activity, each read cheaply at every tick of the guard:

* a kernel: busy now (a cell runs: never idle, for hours if it takes hours), or its last tracked
  message (jupyter_server's ``last_activity``: executions, completions; not the kernel_info and
  comm_info an open tab sends when it connects, so an open tab alone is not activity);
* a terminal: the last *input* its shell read. Linux stamps a tty's access time when its reader
  takes input and its modification time when output is written (as ``w`` reads idle time), so a
  program printing for hours in a forgotten terminal is not activity, a person typing is;
* the laptop's workspace mirror: it keeps ``~/.cloudlab/transfer-active`` fresh while a push or
  pull runs (a marker older than ``TRANSFER_FRESH_S`` is one a vanished laptop left behind);
* GPUs: utilisation at or above ``GPU_BUSY_PERCENT`` on any of them (nvidia-smi), asked only when
  nothing else is busy, and at most every ``GPU_EVERY_S``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

TRANSFER_FRESH_S = 120.0
GPU_BUSY_PERCENT = 5
GPU_EVERY_S = 30.0
GPU_QUERY = ("nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits")
WARNING_S = 5 * 60.0


@dataclass(frozen=True)
class Settings:
    """What the laptop (or the server's config) asks; times are epoch seconds."""

    idle_minutes: float = 30.0
    """0: no idle stop. Fractions are accepted (tests, the sandbox); the panel sends integers."""
    stop_at: float | None = None
    """The hard deadline (the budget): the machine stops then even if busy."""
    keep_until: float | None = None
    """No idle stop before then ("Keep running until HH:MM"); never delays ``stop_at``."""
    stop_after_cell: bool = False
    """Stop as soon as no kernel is busy ("Stop when this cell finishes")."""


@dataclass(frozen=True)
class Signals:
    """One look at the machine: what is busy now, and when each kind of activity was last seen."""

    kernel_busy: bool = False
    busy: tuple[str, ...] = ()
    """Why the machine is busy now (any entry: not idle), e.g. "a cell runs", "GPU 97%"."""
    last_activity: float = 0.0


@dataclass(frozen=True)
class Decision:
    idle_since: float | None
    stops_at: float | None
    """When the machine stops if nothing changes (idle stop or deadline), None: not planned."""
    reason: str | None
    """Set when it must stop now: idle | budget | after_cell."""
    warning: str | None = None


def decide(
    now: float, settings: Settings, signals: Signals, warning_s: float = WARNING_S
) -> Decision:
    """Whether to stop now, when it would, and what to warn about."""
    idle_since = None if signals.busy else signals.last_activity
    idle_stop = None
    if idle_since is not None and settings.idle_minutes > 0:
        idle_stop = max(idle_since + settings.idle_minutes * 60, settings.keep_until or 0.0)
    planned = [t for t in (idle_stop, settings.stop_at) if t is not None]
    stops_at = min(planned) if planned else None
    reason = None
    if settings.stop_at is not None and now >= settings.stop_at:
        reason = "budget"
    elif settings.stop_after_cell and not signals.kernel_busy:
        reason = "after_cell"
    elif idle_stop is not None and now >= idle_stop:
        reason = "idle"
    warning = None
    if reason is None and stops_at is not None and stops_at - now <= warning_s:
        clock = time.strftime("%H:%M", time.localtime(stops_at))
        why = "its budget is spent" if stops_at == settings.stop_at else "it is idle"
        warning = f"This machine stops at {clock} ({why})."
    return Decision(idle_since, stops_at, reason, warning)


# ---- reading the machine ----


def kernel_signals(kernels: Iterable[object]) -> tuple[bool, float]:
    """Whether a kernel is busy, and the latest tracked activity of any (epoch seconds)."""
    busy, last = False, 0.0
    for kernel in kernels:
        busy = busy or getattr(kernel, "execution_state", None) == "busy"
        stamp = getattr(kernel, "last_activity", None)
        if stamp is not None:
            last = max(last, stamp.timestamp())
    return busy, last


def terminal_input(shell_pids: Iterable[int]) -> float:
    """The last time any of these shells' terminals took input (its tty's access time)."""
    last = 0.0
    for pid in shell_pids:
        try:
            last = max(last, os.stat(f"/proc/{pid}/fd/0").st_atime)
        except OSError:
            continue  # ended meanwhile
    return last


def transfer_active(marker: str, now: float) -> bool:
    try:
        return now - os.stat(marker).st_mtime < TRANSFER_FRESH_S
    except OSError:
        return False


def parse_gpu_utilisation(output: str) -> list[int]:
    """Percentages from ``nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader[,nounits]``,
    one line per GPU; lines that say ``[N/A]`` (or anything else) are left out."""
    found = []
    for line in output.splitlines():
        text = line.strip().removesuffix("%").strip()
        if text.isdigit():
            found.append(int(text))
    return found


@dataclass
class GpuProbe:
    """nvidia-smi, asked at most every ``every_s``; no GPU (no command): never busy."""

    command: Sequence[str] = GPU_QUERY
    every_s: float = GPU_EVERY_S
    _asked: float = field(default=-1e18, repr=False)
    _last: list[int] = field(default_factory=list, repr=False)

    def utilisation(self, now: float) -> list[int]:
        if not self.command or shutil.which(self.command[0]) is None:
            return []
        if now - self._asked >= self.every_s:
            self._asked = now
            try:
                done = subprocess.run(
                    list(self.command), capture_output=True, text=True, timeout=20
                )
                self._last = parse_gpu_utilisation(done.stdout) if done.returncode == 0 else []
            except (OSError, subprocess.SubprocessError):
                self._last = []
        return self._last
