"""Domain errors of the orchestrator (kinds of ..errors; handlers/ maps kinds to statuses)."""

from __future__ import annotations

from ..errors import CloudLabError, ErrorKind


class MachineNotFound(CloudLabError):
    kind = ErrorKind.not_found

    def __init__(self, machine_id: str) -> None:
        super().__init__(f"No machine with id '{machine_id}': refresh the list.")


class InvalidTransition(CloudLabError):
    """The action does not fit the machine's current state."""

    kind = ErrorKind.conflict
