"""How a machine is reached: our key pair and our security group (SSH from one address only).

Both are shared by every machine of this computer in a region, and by every process of this
computer (two JupyterLabs, the CLI), so each change is safe under concurrent flows:

- in this process, flows take turns on each resource (one asyncio lock per region and resource),
  and a release or a close leaves the resources alone while a launch or start of this process is
  between ensuring them and its instance (`opening`);
- against another process, AWS's answers decide: a duplicate on create means someone else made
  it (it is described again and used), a rule already there or already gone is done, and a launch
  whose group or key pair vanished before run_instances (another process's release) ensures them
  again and retries once (`launch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import weakref
from collections import Counter
from collections.abc import Iterator
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
# After a duplicate, what another process made is described again until EC2 shows it (its reads
# may lag its writes for a moment).
SETTLE_ATTEMPTS = 5
SETTLE_SECONDS = 1.0
# What another process's release leaves for a launch that ensured access just before it.
VANISHED_CODES = frozenset({"InvalidGroup.NotFound", "InvalidKeyPair.NotFound"})


def key_pair_name(public_key: str) -> str:
    """Named after the key itself, so two computers of one account never fight over a name."""
    return Computer.of(public_key).key_pair_name


def security_group_name(public_key: str) -> str:
    """One group per computer: each holds its own /32, and never revokes another's."""
    return Computer.of(public_key).security_group_name


class _Turns:
    """This process's bookkeeping of the shared resources, per event loop (an asyncio lock is
    bound to one): a lock per (endpoint, region, resource name), and how many launches or starts
    of each computer are opening in each region."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, str, str], asyncio.Lock]
        ] = weakref.WeakKeyDictionary()
        self._opening: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, Counter[tuple[str, str, str]]
        ] = weakref.WeakKeyDictionary()

    @staticmethod
    def _key(ec2: AwsClient, name: str) -> tuple[str, str, str]:
        return (ec2.target.endpoint_url or "", ec2.region, name)

    def lock(self, ec2: AwsClient, name: str) -> asyncio.Lock:
        locks = self._locks.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(self._key(ec2, name), asyncio.Lock())

    def opening_count(self, ec2: AwsClient, computer: Computer) -> int:
        counts = self._opening.get(asyncio.get_running_loop(), Counter())
        return counts[self._key(ec2, computer.digest)]

    @contextlib.contextmanager
    def opening(self, ec2: AwsClient, computer: Computer) -> Iterator[None]:
        counts = self._opening.setdefault(asyncio.get_running_loop(), Counter())
        key = self._key(ec2, computer.digest)
        counts[key] += 1
        try:
            yield
        finally:
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]


_turns = _Turns()


def opening(ec2: AwsClient, computer: Computer) -> contextlib.AbstractContextManager[None]:
    """While a launch or start of this process ensures access and brings its instance up:
    `release_unused` and `close_when_idle` leave `computer`'s key pair and group in ec2's region
    alone meanwhile (the flow's own release, if it fails, comes after)."""
    return _turns.opening(ec2, computer)


async def _find_key_pair(ec2: AwsClient, name: str, public_key: str) -> bool:
    """Whether the key pair exists (holding this key: any other is refused with a sentence)."""
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
        return True
    return False


async def ensure_key_pair(ec2: AwsClient, public_key: str, owner: Owner) -> str:
    """Import this computer's public key once per region, tagged as `owner`'s; returns the key
    pair's name. Another process importing it at the same moment is fine: theirs is used."""
    name = key_pair_name(public_key)
    async with _turns.lock(ec2, name):
        if await _find_key_pair(ec2, name, public_key):
            return name
        try:
            await ec2.call(
                "import_key_pair",
                KeyName=name,
                PublicKeyMaterial=public_key.encode(),
                TagSpecifications=[{"ResourceType": "key-pair", "Tags": tag_list(owner.tags())}],
            )
        except CloudError as error:
            if error.code != "InvalidKeyPair.Duplicate":
                raise
            # Another process of this computer imported it meanwhile: the same key, by its name.
            for attempt in range(SETTLE_ATTEMPTS):
                if await _find_key_pair(ec2, name, public_key):
                    break
                if attempt + 1 == SETTLE_ATTEMPTS:
                    raise
                await asyncio.sleep(SETTLE_SECONDS)
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


async def _create_security_group(ec2: AwsClient, name: str, owner: Owner) -> dict[str, Any]:
    """A new group; if another process made it meanwhile, theirs."""
    try:
        created = await ec2.call(
            "create_security_group",
            GroupName=name,
            Description="SSH to jupyter_cloudlab machines from one address",
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(owner.tags())}],
        )
    except CloudError as error:
        if error.code != "InvalidGroup.Duplicate":
            raise
        for attempt in range(SETTLE_ATTEMPTS):
            group = await find_security_group(ec2, name)
            if group is not None:
                return group
            if attempt + 1 < SETTLE_ATTEMPTS:
                await asyncio.sleep(SETTLE_SECONDS)
        raise CloudError(
            f"A security group named '{name}' exists in {ec2.region} but does not carry "
            "jupyter_cloudlab's tags: delete it in the EC2 console and launch again.",
            ErrorKind.conflict,
            error.code,
        ) from error
    return {"GroupId": created["GroupId"], "IpPermissions": []}


async def _open_security_group(ec2: AwsClient, ssh_from_cidr: str, name: str, owner: Owner) -> str:
    group = await find_security_group(ec2, name)
    if group is None:
        group = await _create_security_group(ec2, name, owner)
    group_id: str = group["GroupId"]
    allowed = _ssh_cidrs(group)
    for stale in (cidr for cidr in allowed if cidr != ssh_from_cidr):
        await _revoke(ec2, group_id, [stale])
    if ssh_from_cidr not in allowed:
        try:
            await ec2.call(
                "authorize_security_group_ingress",
                GroupId=group_id,
                IpPermissions=_ssh_rule([ssh_from_cidr]),
            )
        except CloudError as error:
            if error.code != "InvalidPermission.Duplicate":
                raise  # else another process allowed the same address meanwhile: done
    return group_id


async def _revoke(ec2: AwsClient, group_id: str, cidrs: list[str]) -> None:
    """Revoke SSH from `cidrs`; a rule already gone (another process revoked it) is done."""
    try:
        await ec2.call(
            "revoke_security_group_ingress", GroupId=group_id, IpPermissions=_ssh_rule(cidrs)
        )
    except CloudError as error:
        if error.code != "InvalidPermission.NotFound":
            raise


async def ensure_security_group(ec2: AwsClient, ssh_from_cidr: str, name: str, owner: Owner) -> str:
    """Our group in the default VPC (tagged as `owner`'s), allowing SSH from `ssh_from_cidr` only.

    When this computer's address changed, the old address's rule is revoked: the group never
    holds more than the one /32 that is in use. A group deleted between our look and our change
    (another process released it) is made again, once.
    """
    async with _turns.lock(ec2, name):
        try:
            return await _open_security_group(ec2, ssh_from_cidr, name, owner)
        except CloudError as error:
            if error.code != "InvalidGroup.NotFound":
                raise
        return await _open_security_group(ec2, ssh_from_cidr, name, owner)


async def launch(
    ec2: AwsClient, spec: instances.LaunchSpec, public_key: str, ssh_from_cidr: str
) -> instances.InstanceInfo:
    """Ensure this computer's key pair and group, then launch `spec` with them (its own
    `key_name` and `security_group_id` are replaced).

    Counted as opening meanwhile (see `opening`). When the group or key pair vanished before
    run_instances (another process's release of what it saw unused), both are ensured again and
    the launch retried once (run_instances made nothing: same machine id, same ClientToken).
    """
    owner = spec.owner
    with opening(ec2, owner.computer):
        for attempt in range(2):
            key_name = await ensure_key_pair(ec2, public_key, owner)
            group_id = await ensure_security_group(
                ec2, ssh_from_cidr, owner.computer.security_group_name, owner
            )
            ready = dataclasses.replace(spec, key_name=key_name, security_group_id=group_id)
            try:
                return await instances.launch(ec2, ready)
            except CloudError as error:
                if error.code not in VANISHED_CODES or attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


async def close_when_idle(ec2: AwsClient, computer: Computer) -> bool:
    """Revoke the SSH rule of this computer's group when no machine of this computer using it
    runs, nor is being launched or started by this process; True if it was revoked. Other
    computers' groups are never touched."""
    async with _turns.lock(ec2, computer.security_group_name):
        if _turns.opening_count(ec2, computer):
            return False
        group = await find_security_group(ec2, computer.security_group_name)
        cidrs = _ssh_cidrs(group) if group else []
        if group is None or not cidrs:
            return False
        ours = await instances.find_ours(ec2, computer)
        running = [i for i in ours if i.state in ("pending", "running")]
        if any(group["GroupId"] in i.security_group_ids for i in running):
            return False
        await _revoke(ec2, group["GroupId"], cidrs)
    return True


async def release_unused(ec2: AwsClient, computer: Computer) -> list[str]:
    """Delete this computer's security groups and key pairs that no live machine of this
    computer uses any more (another computer's are never touched).

    Returns what was deleted. Runs after terminate, after a failed launch and at start, so
    nothing we created is left behind to break the next launch. Nothing is deleted while a
    launch or start of this process is opening in this region: it uses them (and if it fails,
    it releases them itself).
    """
    async with (
        _turns.lock(ec2, computer.key_pair_name),
        _turns.lock(ec2, computer.security_group_name),
    ):
        if _turns.opening_count(ec2, computer):
            return []
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
