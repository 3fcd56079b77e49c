"""The meter's arithmetic: running periods from EC2's times, what is billed while running and
while stopped, today's total across midnight, and how long a budget lasts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jupyter_cloudlab.machines import meter
from jupyter_cloudlab.machines.meter import DiskLine, MeterRecord, Period
from jupyter_cloudlab.models import Machine, MachineState

T0 = datetime(2026, 11, 3, 10, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def _record(compute: float = 1.0, disk_month: float = 7.3, ipv4: float = 0.005) -> MeterRecord:
    return MeterRecord(
        compute_what="compute g5.xlarge on-demand us-east-1",
        compute_per_hour=compute,
        price_source="api",
        disks=[DiskLine(what="EBS gp3 100 GB", per_month=disk_month)],
        public_ipv4_per_hour=ipv4,
    )


def test_a_stop_and_start_make_two_periods_from_ec2_times() -> None:
    # Given a machine EC2 launched at T0
    record = _record()
    meter.saw_running(record, launch_time=T0, now=T0 + timedelta(seconds=30))
    # When a user stop is recorded by EC2 an hour later, and EC2 starts it again (new LaunchTime)
    meter.saw_stopped(record, ec2_time=T0 + HOUR, now=T0 + HOUR + timedelta(minutes=1))
    meter.saw_running(record, launch_time=T0 + 2 * HOUR, now=T0 + 2 * HOUR + timedelta(seconds=5))
    # Then two periods, at EC2's times; the second still open
    assert [(p.start, p.end) for p in record.periods] == [
        (T0, T0 + HOUR),
        (T0 + 2 * HOUR, None),
    ]
    assert meter.running_hours(record, now=T0 + 3 * HOUR) == pytest.approx(2.0)


def test_a_restart_keeps_the_periods_seen_before() -> None:
    # Given an open period (a restarted server read it back from its data folder)
    record = MeterRecord.model_validate_json(
        _record()
        .model_copy(update={"periods": [Period(start=T0, compute_per_hour=1.0)]})
        .model_dump_json()
    )
    # When EC2 says it runs, with the LaunchTime of that start
    meter.saw_running(record, launch_time=T0, now=T0 + HOUR)
    # Then the period is the one known, not a new one
    assert len(record.periods) == 1 and record.periods[0].start == T0


def test_a_start_whose_launch_time_ec2_did_not_reset_opens_at_our_request() -> None:
    # Given a first period that ended at T0 + 1 h, and our start request at T0 + 2 h
    record = _record()
    meter.saw_running(record, launch_time=T0, now=T0)
    meter.saw_stopped(record, ec2_time=T0 + HOUR, now=T0 + HOUR)
    record.start_requested_at = T0 + 2 * HOUR
    # When EC2 shows it running with the old LaunchTime (moto does not reset it)
    meter.saw_running(record, launch_time=T0, now=T0 + 2 * HOUR + timedelta(seconds=3))
    # Then the stopped hour is not counted
    assert record.periods[-1].start == T0 + 2 * HOUR


def test_our_stop_request_refines_ec2s_second() -> None:
    record = _record()
    meter.saw_running(record, launch_time=T0, now=T0)
    ours = T0 + HOUR + timedelta(milliseconds=700)
    record.stop_requested_at = ours
    meter.saw_stopped(record, ec2_time=T0 + HOUR, now=T0 + HOUR + timedelta(seconds=20))
    assert record.periods[0].end == ours
    # A stale request of ours (a stop that failed long ago) does not win over EC2's time
    meter.saw_running(record, launch_time=T0 + 2 * HOUR, now=T0 + 2 * HOUR)
    record.stop_requested_at = T0 + HOUR
    meter.saw_stopped(record, ec2_time=T0 + 3 * HOUR, now=T0 + 3 * HOUR)
    assert record.periods[1].end == T0 + 3 * HOUR


def test_compute_and_ipv4_while_running_ebs_while_stopped_too() -> None:
    # Given 1 $/h compute, a 7.30 $/month disk (0.01 $/h) and a public IPv4 address
    record = _record(compute=1.0, disk_month=7.3, ipv4=0.005)
    meter.saw_running(record, launch_time=T0, now=T0)
    meter.saw_stopped(record, ec2_time=T0 + HOUR, now=T0 + HOUR)
    # When it has been stopped for 9 more hours
    now = T0 + 10 * HOUR
    # Then: one hour of compute and address, ten hours of disk
    assert meter.spent(record, now) == pytest.approx(1.0 + 0.005 + 10 * 0.01)
    fields = meter.machine_fields(record, now)
    assert fields["hourly_cost"] == pytest.approx(1.015)
    assert fields["stopped_cost_per_month"] == pytest.approx(7.3)
    assert [line.what for line in fields["cost_lines"]] == [  # type: ignore[attr-defined]
        "compute g5.xlarge on-demand us-east-1",
        "EBS gp3 100 GB",
        "public IPv4",
    ]


def test_an_unknown_price_is_no_figure_rather_than_a_wrong_one() -> None:
    record = _record(compute=None)  # type: ignore[arg-type]
    meter.saw_running(record, launch_time=T0, now=T0)
    assert meter.spent(record, T0 + HOUR) is None
    assert meter.hourly_cost(record) is None


def test_todays_total_counts_from_local_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given this computer in UTC+2, a machine running from 23:00 local until 01:00 local
    monkeypatch.setenv("TZ", "Etc/GMT-2")
    import time

    time.tzset()
    try:
        record = _record(compute=1.0, disk_month=0.0, ipv4=0.0)
        start = datetime(2026, 11, 3, 21, 0, tzinfo=timezone.utc)  # 23:00 local
        meter.saw_running(record, launch_time=start, now=start)
        now = start + 2 * HOUR  # 01:00 local, next day
        # Then today's total is the hour since local midnight, the whole is two hours
        assert meter.local_midnight(now) == datetime(2026, 11, 3, 22, 0, tzinfo=timezone.utc)
        assert meter.spent(record, now, meter.local_midnight(now)) == pytest.approx(1.0)
        assert meter.spent(record, now) == pytest.approx(2.0)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_seconds_left_at_the_running_rate() -> None:
    machine = Machine(
        id="m-1",
        name="a",
        instance_type="g5.xlarge",
        image_id="ami-1",
        region="us-east-1",
        state=MachineState.ready,
        state_since=T0,
        spent_usd=1.5,
        hourly_cost=2.0,
    )
    assert meter.seconds_left(machine, budget_usd=3.5) == pytest.approx(3600)
    assert meter.seconds_left(machine, budget_usd=1.0) == 0
    assert meter.seconds_left(machine.model_copy(update={"hourly_cost": None}), 3.5) is None
