"""How a machine is reached: our key pair and our security group (SSH from one address only)."""

from __future__ import annotations

import asyncio
from typing import Any

from ..errors import ErrorKind
from . import instances
from .aws_client import AwsClient
from .errors import CloudError
from .tags import KEY_PAIR_PREFIX as KEY_PAIR_PREFIX  # re-exported: its home is tags.py
from .tags import SECURITY_GROUP_PREFIX as SECURITY_GROUP_PREFIX
from .tags import Computer, Owner, ours_filter, tag_list

DELETE_ATTEMPTS = 10
DELETE_RETRY_SECONDS = 3.0


def key_pair_name(public_key: str) -> str:
    """Named after the key itself, so two computers of one account never fight over a name."""
    return Computer.of(public_key).key_pair_name


def security_group_name(public_key: str) -> str:
    """One group per computer: each holds its own /32, and never revokes another's."""
    return Computer.of(public_key).security_group_name


async def ensure_key_pair(ec2: AwsClient, public_key: str, owner: Owner) -> str:
    """Import this computer's public key once per region, tagged as `owner`'s; returns the key
    pair's name."""
    name = key_pair_name(public_key)
    reply = await ec2.call(
        "describe_key_pairs",
        Filters=[{"Name": "key-name", "Values": [name]}],
        IncludePublicKey=True,
    )
    for pair in reply.get("KeyPairs", []):
        existing = pair.get("PublicKey", "").split()[:2]
        if existing and existing != public_key.split()[:2]:
            raise CloudError(
                f"The key pair '{name}' in {ec2.region} holds another key than its name says: "
                "delete it in the EC2 console and launch again.",
                ErrorKind.conflict,
            )
        return name
    await ec2.call(
        "import_key_pair",
        KeyName=name,
        PublicKeyMaterial=public_key.encode(),
        TagSpecifications=[{"ResourceType": "key-pair", "Tags": tag_list(owner.tags())}],
    )
    return name


def _ssh_rule(cidrs: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "IpRanges": [{"CidrIp": cidr, "Description": "jupyter_cloudlab"} for cidr in cidrs],
        }
    ]


def _ssh_cidrs(group: dict[str, Any]) -> list[str]:
    return [
        ip_range["CidrIp"]
        for permission in group.get("IpPermissions", [])
        if permission.get("FromPort") == 22
        for ip_range in permission.get("IpRanges", [])
    ]


async def find_security_group(ec2: AwsClient, name: str) -> dict[str, Any] | None:
    reply = await ec2.call(
        "describe_security_groups",
        Filters=[{"Name": "group-name", "Values": [name]}, *ours_filter()],
    )
    groups: list[dict[str, Any]] = reply.get("SecurityGroups", [])
    return groups[0] if groups else None


async def ensure_security_group(ec2: AwsClient, ssh_from_cidr: str, name: str, owner: Owner) -> str:
    """Our group in the default VPC (tagged as `owner`'s), allowing SSH from `ssh_from_cidr` only.

    When this computer's address changed, the old address's rule is revoked: the group never
    holds more than the one /32 that is in use.
    """
    group = await find_security_group(ec2, name)
    if group is None:
        created = await ec2.call(
            "create_security_group",
            GroupName=name,
            Description="SSH to jupyter_cloudlab machines from one address",
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(owner.tags())}],
        )
        group_id: str = created["GroupId"]
        allowed: list[str] = []
    else:
        group_id, allowed = group["GroupId"], _ssh_cidrs(group)
    stale = [cidr for cidr in allowed if cidr != ssh_from_cidr]
    if stale:
        await ec2.call(
            "revoke_security_group_ingress", GroupId=group_id, IpPermissions=_ssh_rule(stale)
        )
    if ssh_from_cidr not in allowed:
        await ec2.call(
            "authorize_security_group_ingress",
            GroupId=group_id,
            IpPermissions=_ssh_rule([ssh_from_cidr]),
        )
    return group_id


async def close_when_idle(ec2: AwsClient, computer: Computer) -> bool:
    """Revoke the SSH rule of this computer's group when no machine of this computer using it
    runs; True if it was revoked. Other computers' groups are never touched."""
    group = await find_security_group(ec2, computer.security_group_name)
    cidrs = _ssh_cidrs(group) if group else []
    if group is None or not cidrs:
        return False
    ours = await instances.find_ours(ec2, computer)
    running = [i for i in ours if i.state in ("pending", "running")]
    if any(group["GroupId"] in i.security_group_ids for i in running):
        return False
    await ec2.call(
        "revoke_security_group_ingress", GroupId=group["GroupId"], IpPermissions=_ssh_rule(cidrs)
    )
    return True


async def release_unused(ec2: AwsClient, computer: Computer) -> list[str]:
    """Delete this computer's security groups and key pairs that no live machine of this
    computer uses any more (another computer's are never touched).

    Returns what was deleted. Runs after terminate and after a failed launch, so nothing we
    created is left behind to break the next launch.
    """
    live = await instances.find_ours(ec2, computer)
    deleted: list[str] = []
    used_groups = {group_id for i in live for group_id in i.security_group_ids}
    groups = await ec2.call("describe_security_groups", Filters=computer.filters())
    for group in groups.get("SecurityGroups", []):
        if group["GroupId"] not in used_groups:
            await delete_security_group(ec2, group["GroupId"])
            deleted.append(group["GroupId"])
    used_keys = {i.key_name for i in live}
    pairs = await ec2.call("describe_key_pairs", Filters=computer.filters())
    for pair in pairs.get("KeyPairs", []):
        if pair["KeyName"] not in used_keys:
            await ec2.call("delete_key_pair", KeyName=pair["KeyName"])
            deleted.append(pair["KeyName"])
    return deleted


async def delete_security_group(ec2: AwsClient, group_id: str) -> None:
    """Delete a group; AWS may still see the terminated instance's interface for a while."""
    for attempt in range(DELETE_ATTEMPTS):
        try:
            await ec2.call("delete_security_group", GroupId=group_id)
            return
        except CloudError as error:
            if error.code == "InvalidGroup.NotFound":
                return
            if error.code != "DependencyViolation" or attempt + 1 == DELETE_ATTEMPTS:
                raise
            await asyncio.sleep(DELETE_RETRY_SECONDS)
