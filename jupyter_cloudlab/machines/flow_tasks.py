"""Each machine's running flow as one task: a new flow cancels the previous one and starts only
once it has ended, and a launch's create step runs shielded beside it.

Commands may come at any moment (two clicks, a terminate during a launch, the server or the
account going away); this is what keeps a machine's flows from running side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

# How long a machine's new flow waits for its cancelled previous one to end.
PREVIOUS_FLOW_END_SECONDS = 30

T = TypeVar("T")


class FlowTasks:
    def __init__(self) -> None:
        self._flows: dict[str, asyncio.Task[None]] = {}
        self._creating: dict[str, asyncio.Task[Any]] = {}
        """Launches' create steps (shielded from cancellation), by machine id."""

    def run(self, machine_id: str, flow: Coroutine[Any, Any, None]) -> None:
        """Run `flow` as the machine's task: its previous flow is cancelled, and `flow` starts
        once that one has ended (its cleanup never runs beside the new flow's steps)."""
        previous = self._flows.get(machine_id)
        current = asyncio.current_task()
        if previous is current or (previous is not None and previous.done()):
            previous = None
        if previous is not None:
            previous.cancel()
        task = asyncio.create_task(self._after(previous, flow))
        self._flows[machine_id] = task
        task.add_done_callback(lambda t: _forget(self._flows, machine_id, t))

    def create(self, machine_id: str, step: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Start a launch's create step; await it through `asyncio.shield` so that cancelling
        the launch never cuts it (whoever cancelled finds what it made, see `wait_created`)."""
        task = asyncio.create_task(step)
        self._creating[machine_id] = task
        task.add_done_callback(lambda t: _forget(self._creating, machine_id, t))
        return task

    async def wait_created(self, machine_id: str) -> None:
        """Once the machine's create step (if one runs) has ended."""
        creating = self._creating.get(machine_id)
        if creating is not None:
            await asyncio.wait({creating})

    async def close(self) -> None:
        """Cancel every flow and wait for them; then let create steps end (the instance AWS
        makes gets its id in the machine cache, and the next session adopts it)."""
        for task in list(self._flows.values()):
            task.cancel()
        for task in list(self._flows.values()):
            with contextlib.suppress(BaseException):
                await task
        for creating in list(self._creating.values()):
            with contextlib.suppress(BaseException):
                await creating

    @staticmethod
    async def _after(previous: asyncio.Task[None] | None, flow: Coroutine[Any, Any, None]) -> None:
        try:
            if previous is not None:
                await asyncio.wait({previous}, timeout=PREVIOUS_FLOW_END_SECONDS)
        except BaseException:
            flow.close()  # never started
            raise
        await flow


def _forget(tasks: dict[str, asyncio.Task[Any]], machine_id: str, task: asyncio.Task[Any]) -> None:
    if tasks.get(machine_id) is task:
        tasks.pop(machine_id, None)
