"""The meter at work: at each state change of a machine it asks EC2 what is billed (times,
zone, disks, address), prices it for the machine's own region and purchase option, records the
running periods in the data folder (meter.json, so the figures survive a restart) and has the
book announce the new figures. The arithmetic is in meter.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..cloud import pricing
from ..cloud.aws_client import AwsClient
from ..cloud.billing import BillingFacts, billing_facts
from ..cloud.errors import CloudError
from ..json_files import read_json, write_json
from ..models import Machine, MachineState
from . import meter
from .meter import DiskLine, MeterRecord

log = logging.getLogger(__name__)
SPOT_AT_LAUNCH = "spot price at launch"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def read_records(path: Path) -> dict[str, MeterRecord]:
    """The meter's records in the data folder, by machine id (none when unreadable)."""
    try:
        raw = read_json(path) or {}
        return {key: MeterRecord.model_validate(value) for key, value in raw.items()}
    except (ValueError, TypeError):
        log.warning("The meter's file %s is unreadable: starting from EC2's times.", path)
        return {}


class Meter:
    def __init__(
        self,
        path: Path | None,
        ec2_of: Callable[[str], AwsClient],
        pricing_client: AwsClient | None,
    ) -> None:
        self._path = path
        self._ec2_of = ec2_of
        self._pricing = pricing_client
        self._on_measured: Callable[[str], None] = lambda machine_id: None
        self._records: dict[str, MeterRecord] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.load()

    def listen(self, on_measured: Callable[[str], None]) -> None:
        """Who announces a machine's new figures (the machine book)."""
        self._on_measured = on_measured

    # ---- figures -------------------------------------------------------------------------
    def record(self, machine_id: str) -> MeterRecord | None:
        return self._records.get(machine_id)

    def fields(self, machine: Machine, now: datetime | None = None) -> dict[str, Any]:
        """The Machine fields the meter fills, as of `now`."""
        record = self._records.get(machine.id)
        if record is None and machine.spot:
            return {"price_per_hour": None}  # never the on-demand figure for a spot machine
        return meter.machine_fields(record, now or _now())

    # ---- observation ---------------------------------------------------------------------
    def saw(self, machine: Machine) -> None:
        """A state change: note our own start or stop request, then ask EC2 (in the background)."""
        record = self._records.get(machine.id)
        if record is not None and machine.state is MachineState.stopping:
            record.stop_requested_at = machine.state_since
        if record is not None and machine.state is MachineState.starting:
            record.start_requested_at = machine.state_since
        if machine.instance_id is None:
            return
        task = asyncio.get_running_loop().create_task(self.measure(machine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def forget(self, machine_id: str) -> None:
        """A terminated machine costs nothing more."""
        if self._records.pop(machine_id, None) is not None:
            self._save()

    async def measure(self, machine: Machine) -> None:
        """Ask EC2 and update the machine's periods and prices (one at a time per machine)."""
        lock = self._locks.setdefault(machine.id, asyncio.Lock())
        async with lock:
            ec2 = self._ec2_of(machine.region)
            assert machine.instance_id is not None
            try:
                facts = await billing_facts(ec2, machine.instance_id)
            except CloudError as error:
                log.info("The meter could not ask EC2 about %s: %s", machine.id, error)
                return
            record = self._records.get(machine.id) or MeterRecord(billed_since=machine.launched_at)
            await self._price(record, machine, facts, ec2)
            now = _now()
            if facts.state in meter.BILLED_STATES:
                meter.saw_running(record, facts.launch_time, now)
            elif facts.state in meter.STOPPED_STATES:
                ended = meter.open_period(record)
                meter.saw_stopped(record, facts.transition_time, now)
                if ended is not None and machine.spot and facts.zone:
                    await self._settle_spot(ended, machine, facts.zone, ec2)
            self._records[machine.id] = record
            self._save()
        self._on_measured(machine.id)

    async def _price(
        self, record: MeterRecord, machine: Machine, facts: BillingFacts, ec2: AwsClient
    ) -> None:
        """The compute price for a period that starts now, the disks', the address's."""
        starting = facts.state in meter.BILLED_STATES and meter.open_period(record) is None
        if record.compute_per_hour is None or (machine.spot and starting):
            if machine.spot and facts.zone:
                at = facts.launch_time or _now()
                history = await pricing.spot_price_history(
                    ec2, machine.instance_type, facts.zone, at, at
                )
                record.compute_per_hour = pricing.spot_price_at(history, at)
                record.price_source = (
                    SPOT_AT_LAUNCH
                    if record.compute_per_hour
                    else (f"no spot price for {machine.instance_type} in {facts.zone}")
                )
            elif not machine.spot:
                found = await pricing.on_demand_price(
                    self._pricing, machine.region, machine.instance_type
                )
                record.compute_per_hour, record.price_source = found.usd, found.source
            option = "spot" if machine.spot else "on-demand"
            record.compute_what = f"compute {machine.instance_type} {option} {machine.region}"
        if facts.volumes:
            record.disks = [
                DiskLine(
                    what=f"EBS {v.volume_type} {v.size_gib} GB",
                    per_month=pricing.ebs_usd_per_month(machine.region, v).usd,
                )
                for v in facts.volumes
            ]
        if facts.state in meter.BILLED_STATES:
            record.public_ipv4_per_hour = (
                pricing.PUBLIC_IPV4_USD_PER_HOUR if facts.has_public_ipv4 else 0.0
            )

    async def _settle_spot(
        self, period: meter.Period, machine: Machine, zone: str, ec2: AwsClient
    ) -> None:
        """A spot period that ended is priced by the spot history over it (its average)."""
        if period.end is None or period.end <= period.start:
            return
        history = await pricing.spot_price_history(
            ec2, machine.instance_type, zone, period.start, period.end
        )
        usd = pricing.spot_cost(history, period.start, period.end)
        if usd is not None:
            period.compute_per_hour = usd / ((period.end - period.start).total_seconds() / 3600)

    # ---- the data folder -----------------------------------------------------------------
    def load(self) -> None:
        """What the data folder holds (at start; a restart reads it again)."""
        if self._path is None:
            return
        self._records = read_records(self._path)

    def _save(self) -> None:
        if self._path is not None:
            write_json(
                self._path, {key: r.model_dump(mode="json") for key, r in self._records.items()}
            )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
