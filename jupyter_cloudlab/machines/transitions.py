"""Which user actions each machine state allows, and the state each action goes through.

The one table: the orchestrator checks commands against it, and every machine in the API carries
the actions it allows (``Machine.actions``), so the panel draws its buttons from the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Machine, MachineAction, MachineState
from .errors import InvalidTransition

S = MachineState
A = MachineAction


@dataclass(frozen=True)
class Transition:
    allowed: frozenset[MachineState]
    """States the action may start from."""
    during: MachineState | None
    """The state the machine shows while the action runs (None: it keeps its state)."""
    refusal: str
    """The sentence for a machine in another state ({state} is filled in)."""
    needs_instance: bool = True
    """Whether the machine must have an EC2 instance (a launch still requesting one has none)."""
    instance_states: frozenset[str] | None = None
    """EC2 states the instance must have been seen in (None: any), see Machine.instance_state."""


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
    # A failed machine whose instance still runs (bootstrap failed, tunnel refused...) is
    # billed: it can be connected and bootstrapped again, or stopped, not only terminated.
    A.retry: Transition(
        frozenset({S.failed}),
        S.connecting,
        "Only a failed machine whose instance runs can be retried; this one is {state}.",
        instance_states=frozenset({"running"}),
    ),
    A.resize: Transition(
        frozenset({S.stopped}),
        None,
        "Stop the machine before changing its instance type; it is {state}.",
    ),
    A.image: Transition(
        frozenset({S.stopped}),
        None,
        "Stop the machine before saving it as an image; it is {state}.",
    ),
    # A row kept after a termination from outside (with its reason) goes when the user says.
    A.dismiss: Transition(
        frozenset({S.terminated}),
        None,
        "Only a terminated machine's row can be dismissed; this one is {state}.",
        needs_instance=False,
    ),
}


def allows(machine: Machine, action: MachineAction) -> bool:
    transition = TRANSITIONS[action]
    if transition.needs_instance and machine.instance_id is None:
        return False
    if transition.instance_states is not None and (
        machine.instance_state not in transition.instance_states
    ):
        return False
    return machine.state in transition.allowed


def allowed_actions(machine: Machine) -> list[MachineAction]:
    """The actions a user may ask of this machine now, in the table's order."""
    return [action for action in TRANSITIONS if allows(machine, action)]


def check(machine: Machine, action: MachineAction) -> None:
    """Raise InvalidTransition (409, with the table's sentence) unless the machine allows it."""
    if not allows(machine, action):
        state = machine.state.value
        if machine.state in TRANSITIONS[action].allowed:  # its instance is what refuses
            state += f", its instance {machine.instance_state or 'not running'}"
        refusal = TRANSITIONS[action].refusal.format(state=state)
        raise InvalidTransition(refusal)
