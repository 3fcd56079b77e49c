"""The machines' records: the current state of each, persisted and emitted on every change."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ..models import Machine, MachineState
from .errors import MachineNotFound
from .meter_service import Meter
from .store import MachineStore
from .transitions import allowed_actions

log = logging.getLogger(__name__)


class MachineBook:
    def __init__(
        self, store: MachineStore, emit: Callable[[Machine], None], meter: Meter | None = None
    ) -> None:
        self._store = store
        self._emit = emit
        self._meter = meter
        if meter is not None:
            meter.listen(self.measured)
        self._machines: dict[str, Machine] = {}

    def __contains__(self, machine_id: object) -> bool:
        return machine_id in self._machines

    def cached(self) -> list[Machine]:
        """What the last run knew (a cache; the cloud is the truth), the meter's periods too."""
        if self._meter is not None:
            self._meter.load()
        return self._store.load()

    def all(self) -> list[Machine]:
        machines = [self._metered(m) for m in self._machines.values()]
        return sorted(machines, key=lambda m: m.launched_at or m.state_since)

    def get(self, machine_id: str) -> Machine:
        machine = self._machines.get(machine_id)
        if machine is None:
            raise MachineNotFound(machine_id)
        return self._metered(machine)

    def find(self, machine_id: str) -> Machine | None:
        return self._machines.get(machine_id)

    def add(self, machine: Machine, announce: bool = True) -> None:
        machine = self._keep(machine)
        if announce:
            self._changed(machine)

    def remove(self, machine_id: str) -> None:
        if self._machines.pop(machine_id, None) is not None:
            self.persist()
        if self._meter is not None:
            self._meter.forget(machine_id)

    def update(self, machine_id: str, **fields: Any) -> None:
        self._keep(self.get(machine_id).model_copy(update=fields))

    def change(self, machine_id: str, **fields: Any) -> None:
        """Update a record and announce it (a user's change, e.g. its mirror turned off)."""
        self._changed(self._keep(self.get(machine_id).model_copy(update=fields)))

    def set_state(self, machine_id: str, state: MachineState) -> None:
        machine = self.get(machine_id)
        if machine.state is not state:
            since = datetime.now(timezone.utc)
            machine = self._keep(machine.model_copy(update={"state": state, "state_since": since}))
            if self._meter is not None:
                self._meter.saw(machine)
        self._changed(machine)

    def fail(self, machine_id: str, error: BaseException) -> None:
        """Failed, with the error's sentence as the message the panel shows."""
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        log.warning("Machine %s failed: %s", machine_id, message)
        if machine_id in self._machines:
            self.update(machine_id, message=message)
            self.set_state(machine_id, MachineState.failed)

    def _keep(self, machine: Machine) -> Machine:
        """Store a record, with the actions its state allows (the panel's buttons)."""
        machine = machine.model_copy(update={"actions": allowed_actions(machine)})
        self._machines[machine.id] = machine
        return self._metered(machine)

    def _metered(self, machine: Machine) -> Machine:
        """With the meter's figures as of now (what it cost so far grows while it runs)."""
        if self._meter is None:
            return machine
        return machine.model_copy(update=self._meter.fields(machine))

    def measured(self, machine_id: str) -> None:
        """The meter has new figures for the machine: announce them."""
        if machine_id in self._machines:
            self._changed(self._metered(self._machines[machine_id]))

    async def close(self) -> None:
        if self._meter is not None:
            await self._meter.close()

    def persist(self) -> None:
        self._store.save(list(self._machines.values()))

    def _changed(self, machine: Machine) -> None:
        self.persist()
        self._emit(machine)
