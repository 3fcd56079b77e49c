"""The meter's arithmetic: a machine's running periods (from EC2's times), what it costs per
hour and per month, what it has cost since launch and since local midnight, and how long a
budget lasts. Pure functions of a `MeterRecord`; `meter_service.py` fills the records from EC2.

What is billed: compute and the public IPv4 address while the instance runs (each period at
its own compute price: on-demand, or spot at its start, averaged over the spot history once it
ended), EBS from the first launch until the machine is terminated, stopped or not.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel, Field

from ..cloud.pricing import HOURS_PER_MONTH
from ..models import CostLine, Machine

# EC2 writes a stop's time to the second: our own record of the request, when it falls within
# that second (give or take), is the finer of the two.
EC2_TIME_SLACK = timedelta(seconds=2)
# States in which EC2 bills compute (pending is seconds long; billing starts at running).
BILLED_STATES = ("pending", "running")
STOPPED_STATES = ("stopping", "stopped", "shutting-down", "terminated")


class Period(BaseModel):
    """A stretch during which the instance ran; `end` None while it runs."""

    start: datetime
    end: datetime | None = None
    compute_per_hour: float | None = None
    """The compute price of this period (spot: at its start, then its history's average)."""


class DiskLine(BaseModel):
    what: str = Field(examples=["EBS gp3 100 GB"])
    per_month: float | None


class MeterRecord(BaseModel):
    """What the meter keeps of one machine (data folder: meter.json)."""

    periods: list[Period] = Field(default_factory=list)
    billed_since: datetime | None = None
    """The first launch: EBS is billed from then on, running or stopped."""
    compute_what: str = ""
    compute_per_hour: float | None = None
    """The compute price now (the one a new period starts with)."""
    price_source: str = ""
    disks: list[DiskLine] = Field(default_factory=list)
    public_ipv4_per_hour: float = 0.0
    start_requested_at: datetime | None = None
    """When we asked EC2 to start it (the period's start when LaunchTime is not newer)."""
    stop_requested_at: datetime | None = None
    """When we asked EC2 to stop it (finer than the second EC2 records)."""


def open_period(record: MeterRecord) -> Period | None:
    if record.periods and record.periods[-1].end is None:
        return record.periods[-1]
    return None


def saw_running(record: MeterRecord, launch_time: datetime | None, now: datetime) -> None:
    """EC2 says it runs: keep the period we know, or open one at its LaunchTime (which EC2 resets
    at each start) if that is newer than the last end, else at our own start request."""
    current = open_period(record)
    if current is not None:
        if launch_time is not None and launch_time > current.start + EC2_TIME_SLACK:
            # Stopped and started again while nobody watched: the stop's time is lost, so the
            # old period ends when the new one began (an upper bound).
            current.end = launch_time
            record.periods.append(
                Period(start=launch_time, compute_per_hour=record.compute_per_hour)
            )
        return
    last_end = record.periods[-1].end if record.periods else None
    if launch_time is not None and (last_end is None or launch_time >= last_end):
        start = launch_time
    else:
        start = record.start_requested_at or now
        if last_end is not None:
            start = max(start, last_end)
    record.periods.append(Period(start=min(start, now), compute_per_hour=record.compute_per_hour))
    record.start_requested_at = None
    if record.billed_since is None:
        record.billed_since = start


def saw_stopped(record: MeterRecord, ec2_time: datetime | None, now: datetime) -> None:
    """EC2 says it stopped (or is stopping): end the open period at EC2's time, refined by our
    request's when that falls within EC2's second; at `now` when neither is known."""
    current = open_period(record)
    if current is None:
        return
    ours = record.stop_requested_at
    if ec2_time is not None and ours is not None and abs(ours - ec2_time) <= EC2_TIME_SLACK:
        end = ours
    else:
        end = ec2_time or ours or now
    current.end = min(max(end, current.start), now)
    record.stop_requested_at = None


def _overlap_hours(start: datetime, end: datetime, since: datetime, until: datetime) -> float:
    seconds = (min(end, until) - max(start, since)).total_seconds()
    return max(0.0, seconds) / 3600


def running_hours(record: MeterRecord, now: datetime, since: datetime | None = None) -> float:
    since = since or datetime.min.replace(tzinfo=timezone.utc)
    return sum(_overlap_hours(p.start, p.end or now, since, now) for p in record.periods)


def disk_per_month(record: MeterRecord) -> float | None:
    if not record.disks or any(d.per_month is None for d in record.disks):
        return None
    return sum(d.per_month or 0.0 for d in record.disks)


def spent(record: MeterRecord, now: datetime, since: datetime | None = None) -> float | None:
    """USD billed from `since` (default: the launch) until `now`; None if a price is unknown."""
    since = since or datetime.min.replace(tzinfo=timezone.utc)
    compute = 0.0
    for period in record.periods:
        if period.compute_per_hour is None:
            return None
        hours = _overlap_hours(period.start, period.end or now, since, now)
        compute += (period.compute_per_hour + record.public_ipv4_per_hour) * hours
    disks = disk_per_month(record)
    if disks is None:
        return None
    stored = 0.0
    if record.billed_since is not None:
        stored = disks / HOURS_PER_MONTH * _overlap_hours(record.billed_since, now, since, now)
    return compute + stored


def hourly_cost(record: MeterRecord) -> float | None:
    """Everything billed per hour while it runs: compute, EBS, the public IPv4 address."""
    disks = disk_per_month(record)
    if record.compute_per_hour is None or disks is None:
        return None
    return record.compute_per_hour + disks / HOURS_PER_MONTH + record.public_ipv4_per_hour


def cost_lines(record: MeterRecord) -> list[CostLine]:
    lines = [CostLine(what=record.compute_what, per_hour=record.compute_per_hour)]
    for disk in record.disks:
        per_hour = None if disk.per_month is None else disk.per_month / HOURS_PER_MONTH
        lines.append(CostLine(what=disk.what, per_hour=per_hour, per_month=disk.per_month))
    if record.public_ipv4_per_hour:
        lines.append(CostLine(what="public IPv4", per_hour=record.public_ipv4_per_hour))
    return lines


def local_midnight(now: datetime) -> datetime:
    """The start of today in this computer's time zone, as an aware datetime."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def machine_fields(record: MeterRecord | None, now: datetime) -> dict[str, object]:
    """The meter's fields of `Machine` (see models/machine.py)."""
    if record is None:
        return {}
    today = spent(record, now, local_midnight(now))
    total = spent(record, now)
    return {
        "price_per_hour": record.compute_per_hour,
        "price_source": record.price_source,
        "hourly_cost": hourly_cost(record),
        "stopped_cost_per_month": disk_per_month(record),
        "spent_usd": total,
        "spent_today_usd": today,
        "cost_lines": cost_lines(record),
    }


def seconds_left(machine: Machine, budget_usd: float) -> float | None:
    """How long the machine may run before it has spent `budget_usd`, at its running rate
    (`hourly_cost`): 0 when spent already; None when its price is unknown."""
    if machine.spent_usd is None or not machine.hourly_cost:
        return None
    return max(0.0, (budget_usd - machine.spent_usd) / machine.hourly_cost * 3600)
