"""The laptop's side of each ready machine's guard (machine_side/cloudlab_guard.py decides and
powers off; this only reads and sends): every ``POLL_S`` it reads the guard's status into the
machine's record (emitted, so the panel shows the countdown and the warning), backing off while
the machine does not answer; and it turns a budget into the deadline the machine enforces:
``now + (budget − spent) / hourly cost``, recomputed at each connect (a start). A launch's idle
limit and budget are its row's from the start; the machine gets them at its first ready (the
idle limit only then: see launch_idle_limits.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import CloudLabError, ErrorKind
from ..kernels.machine_servers import MachineServerRegistry
from ..kernels.server_client import MachineServerClient, MachineServerError
from ..models import GuardChange, IdleStatus, LaunchRequest, Machine
from .book import MachineBook
from .launch_idle_limits import LaunchIdleLimits

log = logging.getLogger(__name__)
POLL_S = 20.0
MAX_BACKOFF_S = 120.0
LONGEST_DEADLINE_HOURS = 10 * 365 * 24.0
"""A budget that lasts longer is as good as none (and a huge one would overflow a date)."""


@dataclass(frozen=True)
class GuardDefaults:
    """What a machine gets when its launch names no idle limit or budget."""

    idle_minutes: float = 30.0
    """``c.CloudLab.idle_minutes``: every machine server starts with it (0: never)."""
    budget_usd: float = 0.0
    """``c.CloudLab.default_budget_usd`` (0: none)."""


def budget_deadline(machine: Machine, budget_usd: float, now: datetime) -> datetime | None:
    """When the machine has spent BUDGET_USD at its hourly cost (compute alone while the meter
    gives no total); None when its price is unknown."""
    hourly = machine.hourly_cost or machine.price_per_hour
    return deadline_after(budget_usd, machine.spent_usd or 0.0, hourly, now)


def deadline_after(
    budget_usd: float, spent_usd: float, hourly: float | None, now: datetime
) -> datetime | None:
    """NOW + what is left of the budget at HOURLY USD an hour; None when the rate is unknown."""
    if not hourly:
        return None
    hours = max(0.0, budget_usd - spent_usd) / hourly
    return now + timedelta(hours=min(hours, LONGEST_DEADLINE_HOURS))


def recorded_minutes(minutes: float) -> int:
    """The record's whole minutes: a fraction (tests) shows as 1, never as 0 (which is "never")."""
    return max(1, round(minutes)) if minutes > 0 else 0


def idle_status(reply: dict[str, Any]) -> IdleStatus:
    spot = reply.get("spot")
    notice = None
    if isinstance(spot, dict):
        notice = f"EC2 will {spot.get('action')} this spot machine at {spot.get('time')}."
    return IdleStatus(
        idle_since=reply.get("idle_since"),
        stops_at=reply.get("stops_at"),
        keep_until=reply.get("keep_until"),
        stop_after_cell=bool(reply.get("stop_after_cell")),
        busy=[str(b) for b in reply.get("busy") or []][:8],
        warning=reply.get("warning"),
        spot_notice=notice,
    )


class MachineGuard:
    def __init__(
        self,
        book: MachineBook,
        machine_servers: MachineServerRegistry,
        defaults: GuardDefaults | None = None,
        launch_idle_limits: LaunchIdleLimits | None = None,
    ) -> None:
        self._book = book
        self._machine_servers = machine_servers
        self._defaults = defaults or GuardDefaults()
        """For a launch that names no idle limit or budget; and a machine found with no budget
        set gets the default one at its start."""
        self._launch_idle_limits = launch_idle_limits or LaunchIdleLimits()
        self._polls: dict[str, asyncio.Task[None]] = {}

    def launch_fields(self, request: LaunchRequest) -> dict[str, Any]:
        """A new machine's idle limit and budget, its launch's or the defaults, for its row."""
        idle = self._defaults.idle_minutes if request.idle_minutes is None else request.idle_minutes
        budget = request.budget_usd
        if budget is None:
            budget = self._defaults.budget_usd or None  # 0 chosen at launch stays 0: none
        return {"idle_minutes": recorded_minutes(idle), "budget_usd": budget}

    def launched(self, machine_id: str, request: LaunchRequest) -> None:
        """Keep the launch's idle limit for the machine's first ready. The default needs no call:
        every machine server starts with it."""
        minutes = request.idle_minutes
        if minutes is not None and minutes != self._defaults.idle_minutes:
            known = [m.id for m in self._book.all()]
            self._launch_idle_limits.expect(machine_id, minutes, known)

    def _client(self, machine_id: str) -> MachineServerClient:
        machine_server = self._machine_servers.get(machine_id)
        if machine_server is None:
            raise CloudLabError(
                "The machine is not ready: its idle limit and budget can be changed once it is.",
                ErrorKind.conflict,
            )
        return MachineServerClient(machine_server)

    async def apply(self, machine_id: str, change: GuardChange) -> Machine:
        """Send a change to the machine (live, kernels untouched) and record what it says."""
        client, machine = self._client(machine_id), self._book.get(machine_id)
        settings: dict[str, Any] = {}
        record: dict[str, Any] = {}
        if change.idle_minutes is not None:
            settings["idle_minutes"] = change.idle_minutes
            record["idle_minutes"] = recorded_minutes(change.idle_minutes)
        if change.keep_until is not None:
            settings["keep_until"] = change.keep_until.isoformat()
        if change.stop_after_cell is not None:
            settings["stop_after_cell"] = change.stop_after_cell
        budget = change.budget_usd if change.budget_usd is not None else machine.budget_usd
        if change.budget_usd is not None or budget:
            deadline = (
                budget_deadline(machine, budget, datetime.now(timezone.utc)) if budget else None
            )
            settings["stop_at"] = deadline.isoformat() if deadline else None
            record.update(budget_usd=budget, stop_at=deadline)
        try:
            reply = await client.set_guard(settings)
        except MachineServerError as error:
            raise CloudLabError(
                f"The machine did not take the change: {error.message}", ErrorKind.unavailable
            ) from error
        self._book.change(machine_id, idle=idle_status(reply), **record)
        return self._book.get(machine_id)

    def watch(self, machine_id: str) -> None:
        """Follow a machine that became ready (its budget's deadline sent again first, and at
        its first ready its launch's idle limit)."""
        self.forget(machine_id)
        self._polls[machine_id] = asyncio.create_task(self._poll(machine_id))

    async def _first_settings(self, machine_id: str) -> None:
        """At each start: the budget's deadline again (its hourly cost may have changed), or the
        default budget for a machine that has none set. The idle limit only at the first ready
        (its launch's): then the machine keeps its own, perhaps changed there meanwhile."""
        machine = self._book.get(machine_id)
        idle = self._launch_idle_limits.pending(machine_id)
        budget = None
        if machine.budget_usd is None and self._defaults.budget_usd > 0:
            budget = self._defaults.budget_usd
        if idle is not None or budget is not None or machine.budget_usd:
            await self.apply(machine_id, GuardChange(idle_minutes=idle, budget_usd=budget))
        if idle is not None:
            self._launch_idle_limits.sent(machine_id)

    def forget(self, machine_id: str) -> None:
        task = self._polls.pop(machine_id, None)
        if task is not None:
            task.cancel()

    async def _poll(self, machine_id: str) -> None:
        delay, settled = POLL_S, False
        while True:
            if not settled:  # tried again at each poll until the machine takes them
                try:
                    await self._first_settings(machine_id)
                    settled = True
                except CloudLabError as error:
                    log.debug("Guard of %s did not take its settings: %s", machine_id, error)
            try:
                reply = await self._client(machine_id).guard_status()
                status, machine = idle_status(reply), self._book.get(machine_id)
                changes: dict[str, Any] = {} if machine.idle == status else {"idle": status}
                minutes = reply.get("idle_minutes")  # as the machine has it (CLI, restarts)
                whole = recorded_minutes(minutes) if isinstance(minutes, (int, float)) else None
                if whole is not None and whole != machine.idle_minutes:
                    changes["idle_minutes"] = whole
                if changes:
                    self._book.change(machine_id, **changes)
                delay = POLL_S
            except (MachineServerError, CloudLabError, ValueError) as error:
                log.debug("Guard of %s did not answer: %s", machine_id, error)
                delay = min(delay * 2, MAX_BACKOFF_S)
            await asyncio.sleep(delay)


class GuardDesk:
    """Where the session finds the guard: the connector builds it on the orchestrator's book, the
    REST route and the session reach it here (the orchestrator needs no knowledge of it)."""

    def __init__(
        self,
        defaults: GuardDefaults | None = None,
        launch_idle_limits: LaunchIdleLimits | None = None,
    ) -> None:
        self._defaults = defaults
        self._launch_idle_limits = launch_idle_limits
        self._guard: MachineGuard | None = None

    def build(self, book: MachineBook, machine_servers: MachineServerRegistry) -> MachineGuard:
        self._guard = MachineGuard(book, machine_servers, self._defaults, self._launch_idle_limits)
        return self._guard

    async def apply(self, machine_id: str, change: GuardChange) -> Machine:
        if self._guard is None:
            raise CloudLabError("No machine is connected yet.", ErrorKind.conflict)
        return await self._guard.apply(machine_id, change)
