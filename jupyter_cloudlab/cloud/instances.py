"""Launch, describe, stop, start and terminate our instances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ErrorKind
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
    disk_type: str = "gp3"
    spot_persistent: bool = False
    """Persistent spot: AWS stops the machine on interruption and starts it again later."""


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
    key_name: str | None = None
    security_group_ids: tuple[str, ...] = ()
    spot_request_id: str | None = None


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
        key_name=raw.get("KeyName"),
        security_group_ids=tuple(g["GroupId"] for g in raw.get("SecurityGroups", [])),
        spot_request_id=raw.get("SpotInstanceRequestId"),
    )


async def find_machine(ec2: AwsClient, machine_id: str) -> InstanceInfo | None:
    """Our live instance for this machine id, if one was already launched."""
    filters = [*ours_filter(), {"Name": f"tag:{MACHINE_ID_TAG}", "Values": [machine_id]}]
    reservations = await ec2.paginate("describe_instances", "Reservations", Filters=filters)
    for reservation in reservations:
        for raw in reservation["Instances"]:
            if raw["State"]["Name"] not in ("terminated", "shutting-down"):
                return _info(raw)
    return None


async def launch(ec2: AwsClient, spec: LaunchSpec) -> InstanceInfo:
    """run_instances with everything a careful user sets by hand, tagged as ours.

    Idempotent per machine id: AWS dedupes on the ClientToken, and (for endpoints that ignore
    it, and for a token that has aged out) an instance already tagged with this machine id is
    returned instead of launching a second one.
    """
    existing = await find_machine(ec2, spec.machine_id)
    if existing is not None:
        return existing
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
                    "VolumeType": spec.disk_type,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tags},
            {"ResourceType": "volume", "Tags": tags},
            {"ResourceType": "network-interface", "Tags": tags},
        ],
    }
    if spec.spot:
        spot_options: dict[str, str] = {"SpotInstanceType": "one-time"}
        if spec.spot_persistent:
            spot_options = {
                "SpotInstanceType": "persistent",
                "InstanceInterruptionBehavior": "stop",
            }
        request["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": spot_options}
    reply = await ec2.call("run_instances", **request)
    return _info(reply["Instances"][0])


async def describe(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    reply = await ec2.call("describe_instances", InstanceIds=[instance_id])
    for reservation in reply.get("Reservations", []):
        for raw in reservation.get("Instances", []):
            return _info(raw)
    raise CloudError(f"Instance {instance_id} is not known to AWS.", ErrorKind.not_found)


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


async def reboot(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    await ec2.call("reboot_instances", InstanceIds=[instance_id])
    return await wait_running(ec2, instance_id)


async def stop(ec2: AwsClient, instance_id: str) -> None:
    await ec2.call("stop_instances", InstanceIds=[instance_id])
    await ec2.wait("instance_stopped", InstanceIds=[instance_id])


async def start(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    await ec2.call("start_instances", InstanceIds=[instance_id])
    return await wait_running(ec2, instance_id)


async def terminate(ec2: AwsClient, instance_id: str) -> None:
    """Terminate and wait; a persistent spot request is cancelled first (else AWS relaunches)."""
    info = await describe(ec2, instance_id)
    if info.spot_request_id:
        await ec2.call(
            "cancel_spot_instance_requests", SpotInstanceRequestIds=[info.spot_request_id]
        )
    await ec2.call("terminate_instances", InstanceIds=[instance_id])
    await ec2.wait("instance_terminated", InstanceIds=[instance_id])
