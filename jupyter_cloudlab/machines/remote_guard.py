"""The machine's guard reached over SSH, without JupyterLab (the CLI): machine_side/guard_call.py
runs there and talks to the machine server through its socket with the token it reads there."""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta
from typing import Any

import asyncssh

from ..errors import CloudLabError, ErrorKind
from ..ssh.machine_script import machine_script

CALL_TIMEOUT_SECONDS = 30
REPLY_PREFIX = "CLOUDLAB-GUARD "


def guard_call_script() -> str:
    """One script for `python3 -`: service.py loaded as cloudlab_service, then guard_call.py."""
    return machine_script(
        [("cloudlab_service", "service.py")], ("cloudlab_guard_call", "guard_call.py")
    )


async def call_guard(
    connection: asyncssh.SSHClientConnection, settings: dict[str, Any], python: str = "python3"
) -> dict[str, Any]:
    """The guard's status after the change (its status alone when SETTINGS is empty)."""
    command = f"{shlex.quote(python)} - {shlex.quote(json.dumps(settings))}"
    result = await connection.run(
        command, input=guard_call_script(), timeout=CALL_TIMEOUT_SECONDS, check=False
    )
    stdout = str(result.stdout or "")
    line = next((x for x in stdout.splitlines() if x.startswith(REPLY_PREFIX)), None)
    if line is None:
        stderr = str(result.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise CloudLabError(
            f"The machine's guard could not be reached: {stderr[0]}", ErrorKind.failed
        )
    status_text, _, body = line[len(REPLY_PREFIX) :].partition(" ")
    reply = json.loads(body) if body.strip() else {}
    if int(status_text) != 200:
        message = reply.get("message") or reply.get("reason") or f"HTTP {status_text}"
        kind = ErrorKind.invalid if int(status_text) == 400 else ErrorKind.unavailable
        raise CloudLabError(f"The machine did not take the change: {message}", kind)
    return dict(reply)


def next_clock_time(hh_mm: str, now: datetime) -> datetime:
    """The next HH:MM on this computer's clock (today, else tomorrow), with its zone."""
    try:
        clock = datetime.strptime(hh_mm, "%H:%M")
    except ValueError:
        raise CloudLabError(
            f"'{hh_mm}' is not a time: give it as HH:MM.", ErrorKind.invalid
        ) from None
    local = now.astimezone()
    moment = local.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
    return moment if moment > local else moment + timedelta(days=1)


def guard_summary(reply: dict[str, Any]) -> str:
    """One line: the idle limit, and when it stops, and what holds it (keep-alive, budget)."""
    minutes = reply.get("idle_minutes")
    parts = [f"idle limit {minutes:g} min" if minutes else "no idle stop"]
    for key, words in (("stop_at", "budget stops it at"), ("keep_until", "kept running until")):
        if reply.get(key):
            parts.append(f"{words} {_clock(reply[key])}")
    if reply.get("stops_at"):
        parts.append(f"stops at {_clock(reply['stops_at'])} if nothing changes")
    return "; ".join(parts) + "."


def _clock(iso: str) -> str:
    return (
        datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")
    )
