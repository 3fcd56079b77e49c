"""The meter prices a machine for its own region and purchase option: on-demand from the API or
the region's dated snapshot (never us-east-1's figure for another region), spot from the spot
price history at launch and over the period, EBS by type and size, the public IPv4 address."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.cloud import pricing
from jupyter_cloudlab.cloud.billing import transition_time
from jupyter_cloudlab.cloud.pricing import Volume
from jupyter_cloudlab.machines.meter_service import Meter
from jupyter_cloudlab.models import Machine, MachineState

T0 = datetime(2026, 11, 3, 10, 0, 0, tzinfo=timezone.utc)
US_EAST_G5 = 1.006


class FakeEc2:
    """describe_instances / describe_volumes / describe_spot_price_history as EC2 answers."""

    def __init__(self, region: str, state: str = "running", spot_prices: Any = ()) -> None:
        self.region = region
        self.state = state
        self.reason = ""
        self.spot_prices = list(spot_prices)

    async def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        assert operation == "describe_instances"
        instance = {
            "InstanceId": "i-1",
            "State": {"Name": self.state},
            "LaunchTime": T0,
            "StateTransitionReason": self.reason,
            "Placement": {"AvailabilityZone": f"{self.region}a"},
            "BlockDeviceMappings": [{"Ebs": {"VolumeId": "vol-1"}}],
        }
        if self.state == "running":
            instance["PublicIpAddress"] = "203.0.113.9"
        return {"Reservations": [{"Instances": [instance]}]}

    async def paginate(self, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        if operation == "describe_volumes":
            return [{"VolumeId": "vol-1", "VolumeType": "gp3", "Size": 100, "Iops": 3000}]
        assert operation == "describe_spot_price_history"
        assert kwargs["Filters"] == [{"Name": "availability-zone", "Values": [f"{self.region}a"]}]
        return [
            {"SpotPrice": str(price), "Timestamp": since, "InstanceType": "g5.xlarge"}
            for since, price in self.spot_prices
            if since <= kwargs["EndTime"]
        ]


def _machine(region: str = "us-east-1", spot: bool = False) -> Machine:
    return Machine(
        id="m-1",
        instance_id="i-1",
        name="box",
        instance_type="g5.xlarge",
        image_id="ami-1",
        region=region,
        spot=spot,
        state=MachineState.ready,
        state_since=T0,
        launched_at=T0,
        price_per_hour=US_EAST_G5,  # what the launch's catalog said
    )


async def _measured(tmp_path: Path, ec2: FakeEc2, machine: Machine) -> dict[str, Any]:
    meter = Meter(tmp_path / "meter.json", lambda region: ec2, None)  # type: ignore[arg-type,return-value]
    await meter.measure(machine)
    return meter.fields(machine, now=T0 + timedelta(hours=1))


async def test_on_demand_in_us_east_1_is_the_snapshot_price_labelled(tmp_path: Path) -> None:
    fields = await _measured(tmp_path, FakeEc2("us-east-1"), _machine())
    assert fields["price_per_hour"] == US_EAST_G5
    assert fields["price_source"] == "snapshot us-east-1 (2026-11)"
    # compute + 100 GB gp3 ($8/month) + the public IPv4 address
    assert fields["hourly_cost"] == pytest.approx(US_EAST_G5 + 8.0 / 730 + 0.005)
    assert [line.what for line in fields["cost_lines"]] == [
        "compute g5.xlarge on-demand us-east-1",
        "EBS gp3 100 GB",
        "public IPv4",
    ]


async def test_eu_west_1_never_shows_the_us_east_1_figure(tmp_path: Path) -> None:
    fields = await _measured(tmp_path, FakeEc2("eu-west-1"), _machine("eu-west-1"))
    assert fields["price_per_hour"] is None
    assert fields["price_source"] == "no price for eu-west-1 in the snapshot (2026-11)"
    assert fields["spent_usd"] is None  # no figure rather than a wrong one


async def test_spot_is_the_spot_price_at_launch_then_its_history(tmp_path: Path) -> None:
    # Given a spot price of 0.40 at launch that rose to 0.60 half an hour later
    history = [(T0 - timedelta(hours=3), 0.40), (T0 + timedelta(minutes=30), 0.60)]
    ec2 = FakeEc2("us-east-1", spot_prices=history)
    meter = Meter(tmp_path / "meter.json", lambda region: ec2, None)  # type: ignore[arg-type,return-value]
    machine = _machine(spot=True)
    # Before the meter has asked EC2, no price at all (never the on-demand one)
    assert meter.fields(machine)["price_per_hour"] is None
    await meter.measure(machine)
    fields = meter.fields(machine, now=T0 + timedelta(minutes=10))
    assert fields["price_per_hour"] == 0.40
    assert fields["price_source"] == "spot price at launch"
    assert fields["cost_lines"][0].what == "compute g5.xlarge spot us-east-1"
    # When EC2 records a user stop one hour after the launch
    ec2.state, ec2.reason = "stopped", "User initiated (2026-11-03 11:00:00 GMT)"
    await meter.measure(machine)
    # Then the hour is priced by the history: half at 0.40, half at 0.60
    record = meter.record("m-1")
    assert record is not None and record.periods[0].end == T0 + timedelta(hours=1)
    assert record.periods[0].compute_per_hour == pytest.approx(0.50)
    # And a stopped machine still pays for its disk, and says how much per month
    later = meter.fields(machine, now=T0 + timedelta(hours=11))
    assert later["stopped_cost_per_month"] == pytest.approx(8.0)
    assert later["spent_usd"] == pytest.approx(0.50 + 0.005 + 11 * 8.0 / 730)


async def test_the_periods_survive_a_restart(tmp_path: Path) -> None:
    ec2 = FakeEc2("us-east-1")
    await _measured(tmp_path, ec2, _machine())
    again = Meter(tmp_path / "meter.json", lambda region: ec2, None)  # type: ignore[arg-type,return-value]
    record = again.record("m-1")
    assert record is not None and record.periods[0].start == T0


def test_ebs_prices_by_type_size_and_provisioned_performance() -> None:
    assert pricing.ebs_usd_per_month("us-east-1", Volume("gp3", 100)).usd == pytest.approx(8.0)
    assert pricing.ebs_usd_per_month("us-east-1", Volume("gp2", 100)).usd == pytest.approx(10.0)
    # gp3 beyond its free 3000 IOPS and 125 MiB/s
    gp3 = Volume("gp3", 100, iops=4000, throughput_mibps=225)
    assert pricing.ebs_usd_per_month("us-east-1", gp3).usd == pytest.approx(8 + 5 + 4)
    io1 = Volume("io1", 100, iops=1000)
    assert pricing.ebs_usd_per_month("us-east-1", io1).usd == pytest.approx(12.5 + 65)
    elsewhere = pricing.ebs_usd_per_month("eu-west-1", Volume("gp3", 100))
    assert elsewhere.usd is None and "eu-west-1" in elsewhere.source


def test_ec2s_stop_time_is_read_from_its_reason() -> None:
    assert transition_time("User initiated (2026-11-03 11:00:00 GMT)") == T0 + timedelta(hours=1)
    assert transition_time("User initiated (2026-11-03 11:00:00 UTC)") == T0 + timedelta(hours=1)
    assert transition_time("") is None
