"""What EC2 says a machine is billed for: its state, when it last started (LaunchTime, which
EC2 resets at each start), when a user stop began (the timestamp in StateTransitionReason), its
zone, its public IPv4 address and its EBS volumes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .aws_client import AwsClient
from .pricing import Volume, as_utc

# "User initiated (2026-11-03 12:00:00 GMT)": EC2's only record of when a stop began.
_TRANSITION_TIME = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")


@dataclass(frozen=True)
class BillingFacts:
    state: str
    launch_time: datetime | None
    transition_time: datetime | None
    """When the instance last left `running`, if EC2's reason carries it (second resolution)."""
    zone: str | None
    has_public_ipv4: bool
    volumes: tuple[Volume, ...]


def transition_time(reason: str | None) -> datetime | None:
    """The timestamp in a StateTransitionReason, if any."""
    found = _TRANSITION_TIME.search(reason or "")
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


def _volume(raw: dict[str, Any]) -> Volume:
    return Volume(
        volume_type=raw.get("VolumeType", "gp3"),
        size_gib=int(raw.get("Size", 0)),
        iops=raw.get("Iops"),
        throughput_mibps=raw.get("Throughput"),
    )


async def billing_facts(ec2: AwsClient, instance_id: str) -> BillingFacts:
    """One describe_instances and one describe_volumes for the instance's attached disks."""
    reply = await ec2.call("describe_instances", InstanceIds=[instance_id])
    raw = reply["Reservations"][0]["Instances"][0]
    volume_ids = [
        mapping["Ebs"]["VolumeId"]
        for mapping in raw.get("BlockDeviceMappings", [])
        if "Ebs" in mapping and "VolumeId" in mapping["Ebs"]
    ]
    volumes: list[dict[str, Any]] = []
    if volume_ids:
        volumes = await ec2.paginate("describe_volumes", "Volumes", VolumeIds=volume_ids)
    return BillingFacts(
        state=raw["State"]["Name"],
        launch_time=as_utc(raw["LaunchTime"]) if raw.get("LaunchTime") else None,
        transition_time=transition_time(raw.get("StateTransitionReason")),
        zone=raw.get("Placement", {}).get("AvailabilityZone"),
        has_public_ipv4=bool(raw.get("PublicIpAddress")),
        volumes=tuple(_volume(v) for v in volumes),
    )
