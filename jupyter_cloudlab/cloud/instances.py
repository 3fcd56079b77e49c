"""Launch, describe, stop, start and terminate our instances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .aws_client import AwsClient
from .errors import CloudError
from .tags import (
    MACHINE_ID_TAG,
    NAME_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    SSH_USER_TAG,
    ours_filter,
    tag_dict,
    tag_list,
)


@dataclass(frozen=True)
class LaunchSpec:
    machine_id: str
    name: str
    instance_type: str
    image_id: str
    ssh_user: str
    key_name: str
    security_group_id: str
    disk_gib: int
    spot: bool
    root_device_name: str = "/dev/sda1"


@dataclass(frozen=True)
class InstanceInfo:
    instance_id: str
    machine_id: str
    name: str
    state: str
    instance_type: str
    image_id: str
    public_ip: str | None
    ssh_user: str
    spot: bool
    launch_time: str | None


def _info(raw: dict[str, Any]) -> InstanceInfo:
    tags = tag_dict(raw)
    launch_time = raw.get("LaunchTime")
    return InstanceInfo(
        instance_id=raw["InstanceId"],
        machine_id=tags.get(MACHINE_ID_TAG, raw["InstanceId"]),
        name=tags.get(NAME_TAG, raw["InstanceId"]),
        state=raw["State"]["Name"],
        instance_type=raw["InstanceType"],
        image_id=raw.get("ImageId", ""),
        public_ip=raw.get("PublicIpAddress"),
        ssh_user=tags.get(SSH_USER_TAG, "ubuntu"),
        spot=raw.get("InstanceLifecycle") == "spot",
        launch_time=launch_time.isoformat() if launch_time is not None else None,
    )


async def launch(ec2: AwsClient, spec: LaunchSpec) -> InstanceInfo:
    """run_instances with everything a careful user sets by hand, tagged as ours."""
    tags = tag_list(
        {
            OWNER_TAG: OWNER_VALUE,
            MACHINE_ID_TAG: spec.machine_id,
            NAME_TAG: spec.name,
            SSH_USER_TAG: spec.ssh_user,
        }
    )
    request: dict[str, Any] = {
        "ImageId": spec.image_id,
        "InstanceType": spec.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "KeyName": spec.key_name,
        "SecurityGroupIds": [spec.security_group_id],
        # A retried launch (same machine id) never makes a second machine.
        "ClientToken": spec.machine_id,
        # Idle shutdown from inside the machine stops it instead of deleting its disk.
        "InstanceInitiatedShutdownBehavior": "stop",
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "InstanceMetadataTags": "enabled",
        },
        "BlockDeviceMappings": [
            {
                "DeviceName": spec.root_device_name,
                "Ebs": {
                    "VolumeSize": spec.disk_gib,
                    "VolumeType": "gp3",
                    "DeleteOnTermination": True,
                },
            }
        ],
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tags},
            {"ResourceType": "volume", "Tags": tags},
        ],
    }
    if spec.spot:
        request["InstanceMarketOptions"] = {
            "MarketType": "spot",
            "SpotOptions": {"SpotInstanceType": "one-time"},
        }
    reply = await ec2.call("run_instances", **request)
    return _info(reply["Instances"][0])


async def describe(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    reply = await ec2.call("describe_instances", InstanceIds=[instance_id])
    for reservation in reply.get("Reservations", []):
        for raw in reservation.get("Instances", []):
            return _info(raw)
    raise CloudError(f"Instance {instance_id} is not known to AWS.", 404)


async def find_ours(ec2: AwsClient, include_terminated: bool = False) -> list[InstanceInfo]:
    """Every instance carrying our tags in this region (the cloud is the truth)."""
    reservations = await ec2.paginate("describe_instances", "Reservations", Filters=ours_filter())
    infos = [_info(raw) for reservation in reservations for raw in reservation["Instances"]]
    if include_terminated:
        return infos
    return [info for info in infos if info.state not in ("terminated", "shutting-down")]


async def wait_running(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    await ec2.wait("instance_running", InstanceIds=[instance_id])
    return await describe(ec2, instance_id)


async def stop(ec2: AwsClient, instance_id: str) -> None:
    await ec2.call("stop_instances", InstanceIds=[instance_id])
    await ec2.wait("instance_stopped", InstanceIds=[instance_id])


async def start(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    await ec2.call("start_instances", InstanceIds=[instance_id])
    return await wait_running(ec2, instance_id)


async def terminate(ec2: AwsClient, instance_id: str) -> None:
    await ec2.call("terminate_instances", InstanceIds=[instance_id])
    await ec2.wait("instance_terminated", InstanceIds=[instance_id])
