"""Which user actions each machine state allows, and the state each action goes through.

The one table: the orchestrator checks commands against it, and every machine in the API carries
the actions it allows (``Machine.actions``), so the panel draws its buttons from the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Machine, MachineAction, MachineState

S = MachineState
A = MachineAction


@dataclass(frozen=True)
class Transition:
    allowed: frozenset[MachineState]
    """States the action may start from."""
    during: MachineState
    """The state the machine shows while the action runs."""
    refusal: str
    """The sentence for a machine in another state ({state} is filled in)."""
    needs_instance: bool = True
    """Whether the machine must have an EC2 instance (a launch still requesting one has none)."""


TRANSITIONS: dict[MachineAction, Transition] = {
    A.stop: Transition(
        frozenset({S.pending, S.connecting, S.bootstrapping, S.ready, S.failed}),
        S.stopping,
        "A {state} machine cannot be stopped.",
    ),
    A.start: Transition(
        frozenset({S.stopped}),
        S.starting,
        "Only a stopped machine can be started; this one is {state}.",
    ),
    A.reboot: Transition(
        frozenset({S.ready}),
        S.rebooting,
        "Only a ready machine can be rebooted; this one is {state}.",
    ),
    A.terminate: Transition(
        frozenset(set(S) - {S.terminated}),
        S.terminating,
        "This machine is already {state}.",
        needs_instance=False,
    ),
}


def allows(machine: Machine, action: MachineAction) -> bool:
    transition = TRANSITIONS[action]
    if transition.needs_instance and machine.instance_id is None:
        return False
    return machine.state in transition.allowed


def allowed_actions(machine: Machine) -> list[MachineAction]:
    """The actions a user may ask of this machine now, in the table's order."""
    return [action for action in TRANSITIONS if allows(machine, action)]
