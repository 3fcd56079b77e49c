"""The laptop's side of each ready machine's guard (machine_side/cloudlab_guard.py decides and
powers off; this only reads and sends): every ``POLL_S`` it reads the guard's status into the
machine's record (emitted, so the panel shows the countdown and the warning), backing off while
the machine does not answer; and it turns a budget into the deadline the machine enforces:
``now + (budget − spent) / hourly cost``, recomputed at each connect (a start)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import CloudLabError, ErrorKind
from ..kernels.machine_servers import MachineServerRegistry
from ..kernels.server_client import MachineServerClient, MachineServerError
from ..models import GuardChange, IdleStatus, Machine
from .book import MachineBook

log = logging.getLogger(__name__)
POLL_S = 20.0
MAX_BACKOFF_S = 120.0


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
    return now + timedelta(hours=max(0.0, budget_usd - spent_usd) / hourly)


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
        default_budget_usd: float = 0.0,
    ) -> None:
        self._book = book
        self._machine_servers = machine_servers
        self._default_budget_usd = default_budget_usd
        """``c.CloudLab.default_budget_usd``: a machine without a budget gets it at its start
        (0: none). The idle limit's default is in the machine server's own settings."""
        self._polls: dict[str, asyncio.Task[None]] = {}

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
            record.update(budget_usd=budget or None, stop_at=deadline)
        try:
            reply = await client.set_guard(settings)
        except MachineServerError as error:
            raise CloudLabError(
                f"The machine did not take the change: {error.message}", ErrorKind.unavailable
            ) from error
        self._book.change(machine_id, idle=idle_status(reply), **record)
        return self._book.get(machine_id)

    def watch(self, machine_id: str) -> None:
        """Follow a machine that became ready (its budget's deadline sent again first)."""
        self.forget(machine_id)
        self._polls[machine_id] = asyncio.create_task(self._poll(machine_id))

    async def _first_settings(self, machine_id: str) -> None:
        """At each start: the budget's deadline again (its hourly cost may have changed), or the
        default budget for a machine that has none; the idle limit the machine keeps itself."""
        machine = self._book.get(machine_id)
        if machine.budget_usd:
            await self.apply(machine_id, GuardChange())
        elif machine.budget_usd is None and self._default_budget_usd > 0:
            await self.apply(machine_id, GuardChange(budget_usd=self._default_budget_usd))

    def forget(self, machine_id: str) -> None:
        task = self._polls.pop(machine_id, None)
        if task is not None:
            task.cancel()

    async def _poll(self, machine_id: str) -> None:
        delay = POLL_S
        with contextlib.suppress(CloudLabError):
            await self._first_settings(machine_id)
        while True:
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

    def __init__(self, default_budget_usd: float = 0.0) -> None:
        self._default_budget_usd = default_budget_usd
        self._guard: MachineGuard | None = None

    def build(self, book: MachineBook, machine_servers: MachineServerRegistry) -> MachineGuard:
        self._guard = MachineGuard(book, machine_servers, self._default_budget_usd)
        return self._guard

    async def apply(self, machine_id: str, change: GuardChange) -> Machine:
        if self._guard is None:
            raise CloudLabError("No machine is connected yet.", ErrorKind.conflict)
        return await self._guard.apply(machine_id, change)
