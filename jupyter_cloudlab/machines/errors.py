"""Domain errors of the orchestrator; handlers/ maps them to HTTP statuses in one place."""

from __future__ import annotations


class MachineNotFound(Exception):
    def __init__(self, machine_id: str) -> None:
        super().__init__(f"No machine with id '{machine_id}': refresh the list.")


class InvalidTransition(Exception):
    """The action does not fit the machine's current state (HTTP 409)."""
