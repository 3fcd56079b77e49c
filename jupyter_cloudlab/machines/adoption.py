"""A machine as the cloud shows it when the orchestrator reconciles (a server restart, an
account switch): the row we knew, or a new one for an instance of ours we had no row for."""

from __future__ import annotations

from datetime import datetime, timezone

from ..cloud.instances import InstanceInfo
from ..models import Machine, MachineState


def adopted(
    known: Machine | None, info: InstanceInfo, region: str, stop_reason: str | None = None
) -> Machine:
    """The machine's row, with what a past connection learned (kernelspecs, message) cleared,
    and why it stopped when that was not our doing (see LifecycleFlows.reason_at_reconcile)."""
    machine = known or Machine(
        id=info.machine_id,
        name=info.name,
        instance_type=info.instance_type,
        image_id=info.image_id,
        region=region,
        state=MachineState.pending,
        state_since=datetime.now(timezone.utc),
        instance_id=info.instance_id,
        spot=info.spot,
    )
    return machine.model_copy(
        update={
            "kernelspecs": [],
            "message": None,
            "stop_reason": stop_reason,
            "instance_state": info.state,
        }
    )
