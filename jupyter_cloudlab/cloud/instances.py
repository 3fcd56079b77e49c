"""Launch, describe, stop, start and terminate our instances; find this computer's."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ErrorKind
from .aws_client import AwsClient
from .errors import CloudError
from .tags import (
    COMPUTER_TAG,
    MACHINE_ID_TAG,
    NAME_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    SSH_USER_TAG,
    Computer,
    Owner,
    is_machine_id,
    ours_filter,
    tag_dict,
    tag_list,
)

log = logging.getLogger(__name__)
GONE_STATES = ("terminated", "shutting-down")


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
    owner: Owner
    """Whose it is: the tags the instance, its disk, interface and spot request carry."""
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
    state_reason_code: str | None = None
    """EC2's StateReason code, e.g. Client.InstanceInitiatedShutdown (see state_reasons.py)."""
    state_reason_message: str | None = None
    state_transition_reason: str | None = None
    """EC2's StateTransitionReason, e.g. "User initiated (2026-12-04 09:12:40 GMT)"."""


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
        state_reason_code=raw.get("StateReason", {}).get("Code") or None,
        state_reason_message=raw.get("StateReason", {}).get("Message") or None,
        state_transition_reason=raw.get("StateTransitionReason") or None,
    )


def _ours(raws: Iterable[dict[str, Any]], computer: Computer) -> list[InstanceInfo]:
    """The instances that are this computer's machines, live or not: our owner and computer
    tags, our key pair, a well-formed machine id that no other live one of them carries.

    Tags can be copied by anyone who may tag instances in the account: an instance that claims
    this computer but was launched with another key pair, or whose machine id is malformed or
    shared, is ignored with a warning (never connected to, never sent kernels).
    """
    found: list[InstanceInfo] = []
    for raw in raws:
        tags, instance_id = tag_dict(raw), raw["InstanceId"]
        if tags.get(OWNER_TAG) != OWNER_VALUE or tags.get(COMPUTER_TAG) != computer.digest:
            continue  # the filters already said so (unless the endpoint ignored them)
        if raw.get("KeyName") != computer.key_pair_name:
            log.warning(
                "Ignoring %s: it carries this computer's tags but was launched with the key "
                "pair %r, not ours (%s).",
                instance_id,
                raw.get("KeyName"),
                computer.key_pair_name,
            )
            continue
        machine_id = tags.get(MACHINE_ID_TAG, "")
        if not is_machine_id(machine_id):
            log.warning("Ignoring %s: its machine id %r is malformed.", instance_id, machine_id)
            continue
        found.append(_info(raw))
    live = Counter(i.machine_id for i in found if i.state not in GONE_STATES)
    shared = {machine_id for machine_id, count in live.items() if count > 1}
    for machine_id in sorted(shared):
        log.warning(
            "Ignoring the instances %s: they all claim the machine %s, which only one can be. "
            "Terminate the one you did not launch in the EC2 console.",
            ", ".join(i.instance_id for i in found if i.machine_id == machine_id),
            machine_id,
        )
    return [i for i in found if i.machine_id not in shared]


async def find_machine(ec2: AwsClient, owner: Owner, machine_id: str) -> InstanceInfo | None:
    """This computer's live instance for this machine id, if one was already launched."""
    computer = owner.computer
    filters = [*computer.filters(), {"Name": f"tag:{MACHINE_ID_TAG}", "Values": [machine_id]}]
    reservations = await ec2.paginate("describe_instances", "Reservations", Filters=filters)
    found = _ours((raw for r in reservations for raw in r["Instances"]), computer)
    return next((i for i in found if i.state not in GONE_STATES), None)


async def launch(ec2: AwsClient, spec: LaunchSpec) -> InstanceInfo:
    """run_instances with everything a careful user sets by hand, tagged as ours.

    Idempotent per machine id: AWS dedupes on the ClientToken, and (for endpoints that ignore
    it, and for a token that has aged out) an instance already tagged with this machine id is
    returned instead of launching a second one.
    """
    ours = spec.owner.computer.key_pair_name
    if spec.key_name != ours:
        # What is launched with another key pair is never found again as this computer's.
        raise CloudError(
            f"A launch of this computer's must use its key pair {ours}, not {spec.key_name!r}.",
            ErrorKind.unexpected,
        )
    existing = await find_machine(ec2, spec.owner, spec.machine_id)
    if existing is not None:
        return existing
    tags = tag_list(
        {
            **spec.owner.tags(),
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
        # Every resource the launch creates is ours from its first moment (the IAM policy
        # refuses a launch without these tags, and tagging afterwards).
        "TagSpecifications": [
            {"ResourceType": kind, "Tags": tags}
            for kind in ("instance", "volume", "network-interface")
            + (("spot-instances-request",) if spec.spot else ())
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


async def find_ours(
    ec2: AwsClient, computer: Computer, include_terminated: bool = False
) -> list[InstanceInfo]:
    """This computer's machines in this region (the cloud is the truth; see `_ours`)."""
    filters = computer.filters()
    reservations = await ec2.paginate("describe_instances", "Reservations", Filters=filters)
    infos = _ours((raw for r in reservations for raw in r["Instances"]), computer)
    if include_terminated:
        return infos
    return [info for info in infos if info.state not in GONE_STATES]


async def find_owner_tagged(ec2: AwsClient) -> list[InstanceInfo]:
    """Every live instance with our owner tag in this region, whichever computer (or whoever)
    made it: for an explicit `jupyter cloudlab sweep --all-computers` only, never to connect."""
    reservations = await ec2.paginate("describe_instances", "Reservations", Filters=ours_filter())
    infos = [_info(raw) for reservation in reservations for raw in reservation["Instances"]]
    return [info for info in infos if info.state not in GONE_STATES]


async def wait_running(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    await ec2.wait("instance_running", InstanceIds=[instance_id])
    return await describe(ec2, instance_id)


async def reboot(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    await ec2.call("reboot_instances", InstanceIds=[instance_id])
    return await wait_running(ec2, instance_id)


async def stop(ec2: AwsClient, instance_id: str) -> None:
    await ec2.call("stop_instances", InstanceIds=[instance_id])
    await ec2.wait("instance_stopped", InstanceIds=[instance_id])


async def wait_settled(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    """The instance once a stop or termination begun elsewhere has ended (without asking for
    one: a second StopInstances would overwrite EC2's reason for the first)."""
    info = await describe(ec2, instance_id)
    if info.state in ("stopping", "stopped"):
        await ec2.wait("instance_stopped", InstanceIds=[instance_id])
    elif info.state == "shutting-down":
        await ec2.wait("instance_terminated", InstanceIds=[instance_id])
    else:
        return info
    return await describe(ec2, instance_id)


async def start(ec2: AwsClient, instance_id: str) -> InstanceInfo:
    await ec2.call("start_instances", InstanceIds=[instance_id])
    return await wait_running(ec2, instance_id)


async def change_type(ec2: AwsClient, instance_id: str, instance_type: str) -> None:
    """A stopped instance's new type (EC2 refuses it for one that runs: IncorrectInstanceState)."""
    await ec2.call(
        "modify_instance_attribute", InstanceId=instance_id, InstanceType={"Value": instance_type}
    )


async def terminate(ec2: AwsClient, instance_id: str) -> None:
    """Terminate and wait; a persistent spot request is cancelled first (else AWS relaunches)."""
    info = await describe(ec2, instance_id)
    if info.spot_request_id:
        await ec2.call(
            "cancel_spot_instance_requests", SpotInstanceRequestIds=[info.spot_request_id]
        )
    await ec2.call("terminate_instances", InstanceIds=[instance_id])
    await ec2.wait("instance_terminated", InstanceIds=[instance_id])
