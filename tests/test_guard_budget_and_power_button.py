"""The laptop's budget → deadline, the guard's status as the panel gets it, and the sandbox's
power button: an instance-initiated shutdown shows in EC2 with AWS's StateReason."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.machines.guard import budget_deadline, idle_status
from jupyter_cloudlab.models import Machine, MachineState
from jupyter_cloudlab.sandbox.ec2_endpoint import SANDBOX_IMAGES, Ec2Endpoint
from jupyter_cloudlab.sandbox.power_button import mark_instance_initiated

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def machine(**fields: object) -> Machine:
    base = dict(
        id="m-1",
        name="box",
        instance_type="g5.xlarge",
        image_id="ami-1",
        region="eu-west-1",
        state=MachineState.ready,
        state_since=NOW,
    )
    return Machine.model_validate({**base, **fields})


def test_a_budget_becomes_the_time_its_money_runs_out() -> None:
    # $10 budget, $4 spent, $1.50/h in all: 4 hours left
    box = machine(hourly_cost=1.5, price_per_hour=1.0, spent_usd=4.0)
    assert budget_deadline(box, 10.0, NOW) == NOW + timedelta(hours=4)
    # Before the meter's fields exist: compute price, nothing spent
    assert budget_deadline(machine(price_per_hour=2.0), 10.0, NOW) == NOW + timedelta(hours=5)
    # Spent past the budget: now; unknown price: no deadline
    assert budget_deadline(machine(price_per_hour=2.0, spent_usd=12.0), 10.0, NOW) == NOW
    assert budget_deadline(machine(), 10.0, NOW) is None


def test_the_guard_status_reads_as_the_row_shows_it() -> None:
    status = idle_status(
        {
            "idle_since": "2026-12-01T11:00:00+00:00",
            "stops_at": "2026-12-01T11:30:00+00:00",
            "busy": [],
            "warning": "This machine stops at 11:30 (it is idle).",
            "spot": {"action": "terminate", "time": "2026-12-01T11:02:00Z"},
        }
    )
    assert status.stops_at == datetime(2026, 12, 1, 11, 30, tzinfo=timezone.utc)
    assert status.warning and "11:30" in status.warning
    assert status.spot_notice == "EC2 will terminate this spot machine at 2026-12-01T11:02:00Z."


async def test_a_sandbox_machine_that_shuts_down_stops_with_aws_reason() -> None:
    endpoint = Ec2Endpoint()
    target = await endpoint.start()
    try:
        ec2 = AwsClient(target)
        images = await ec2.call("describe_images", Owners=["self"])
        image = next(i["ImageId"] for i in images["Images"] if i["Name"] in SANDBOX_IMAGES)
        run = await ec2.call(
            "run_instances", ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1
        )
        instance_id = run["Instances"][0]["InstanceId"]
        await ec2.call("stop_instances", InstanceIds=[instance_id])
        mark_instance_initiated(instance_id, target.region)
        found = await ec2.call("describe_instances", InstanceIds=[instance_id])
        raw = found["Reservations"][0]["Instances"][0]
        assert raw["State"]["Name"] == "stopped"
        assert raw["StateReason"] == {
            "Code": "Client.InstanceInitiatedShutdown",
            "Message": "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
        }
    finally:
        endpoint.stop()
