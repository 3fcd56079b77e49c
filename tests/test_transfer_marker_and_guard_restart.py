"""Small pieces of the idle stop: the mirror's transfer marker (a long transfer keeps the machine
awake, a short one costs nothing), a restarted machine server forgets a deadline that already
came, and the CLI's clock time and summary line."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jupyter_cloudlab.machine_side.cloudlab_guard import Guard
from jupyter_cloudlab.machines.remote_guard import guard_summary, next_clock_time
from jupyter_cloudlab.workspace import progress
from jupyter_cloudlab.workspace.progress import Activity


@pytest.fixture
def fast_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "MARKER_AFTER_S", 0.05)
    monkeypatch.setattr(progress, "MARKER_EVERY_S", 0.1)


async def test_a_long_transfer_keeps_the_marker_fresh_then_removes_it(fast_marker: None) -> None:
    marks: list[bool] = []

    async def mark(active: bool) -> None:
        marks.append(active)

    activity = Activity(mark)
    # A push and a pull overlapping for ~0.4 s: one marker, refreshed, removed once at the end
    with activity:
        await asyncio.sleep(0.2)
        with activity:
            await asyncio.sleep(0.2)
    await asyncio.sleep(0.05)
    assert marks.count(True) >= 3
    assert marks[-1] is False and marks.count(False) == 1


async def test_a_short_transfer_never_touches_the_machine(fast_marker: None) -> None:
    marks: list[bool] = []

    async def mark(active: bool) -> None:
        marks.append(active)

    with Activity(mark):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert marks == []


def test_a_restarted_machine_server_drops_a_deadline_that_came(tmp_path: Path) -> None:
    # Given settings saved by a guard that stopped the machine (budget reached, stop after cell)
    state = tmp_path / "state"
    state.mkdir()
    future = time.time() + 3600
    saved = {"idle_minutes": 12, "stop_at": time.time() - 5, "stop_after_cell": True}
    (state / "guard.json").write_text(json.dumps(saved))
    # When the machine's server starts again
    guard = Guard(None, {"state_dir": str(state)})
    # Then it keeps the idle limit but would not power off again at once
    assert guard.settings.idle_minutes == 12
    assert guard.settings.stop_at is None and guard.settings.stop_after_cell is False
    # And a deadline still ahead is kept
    (state / "guard.json").write_text(json.dumps({**saved, "stop_at": future}))
    assert Guard(None, {"state_dir": str(state)}).settings.stop_at == future


def test_keep_alive_until_a_clock_time_is_the_next_one() -> None:
    now = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc).astimezone()
    later = now + timedelta(hours=1)
    assert next_clock_time(later.strftime("%H:%M"), now) == later.replace(second=0, microsecond=0)
    earlier = now - timedelta(hours=1)  # passed today: tomorrow's
    expected = earlier.replace(second=0, microsecond=0) + timedelta(days=1)
    assert next_clock_time(earlier.strftime("%H:%M"), now) == expected
    with pytest.raises(Exception, match="HH:MM"):
        next_clock_time("25:00", now)


def test_the_cli_summary_names_limit_and_stop() -> None:
    line = guard_summary({"idle_minutes": 45, "keep_until": None, "stops_at": None})
    assert line == "idle limit 45 min."
    assert guard_summary({"idle_minutes": 0}) == "no idle stop."
