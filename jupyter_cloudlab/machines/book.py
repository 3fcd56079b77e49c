"""The machines' records: the current state of each, persisted and emitted on every change."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ..models import Machine, MachineState
from .errors import MachineNotFound
from .store import MachineStore
from .transitions import allowed_actions

log = logging.getLogger(__name__)


class MachineBook:
    def __init__(self, store: MachineStore, emit: Callable[[Machine], None]) -> None:
        self._store = store
        self._emit = emit
        self._machines: dict[str, Machine] = {}

    def __contains__(self, machine_id: object) -> bool:
        return machine_id in self._machines

    def cached(self) -> list[Machine]:
        """What the last run knew (a cache; the cloud is the truth)."""
        return self._store.load()

    def all(self) -> list[Machine]:
        return sorted(self._machines.values(), key=lambda m: m.launched_at or m.state_since)

    def get(self, machine_id: str) -> Machine:
        machine = self._machines.get(machine_id)
        if machine is None:
            raise MachineNotFound(machine_id)
        return machine

    def find(self, machine_id: str) -> Machine | None:
        return self._machines.get(machine_id)

    def add(self, machine: Machine, announce: bool = True) -> None:
        machine = self._keep(machine)
        if announce:
            self._changed(machine)

    def remove(self, machine_id: str) -> None:
        if self._machines.pop(machine_id, None) is not None:
            self.persist()

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
        return machine

    def persist(self) -> None:
        self._store.save(list(self._machines.values()))

    def _changed(self, machine: Machine) -> None:
        self.persist()
        self._emit(machine)
