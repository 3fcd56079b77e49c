"""Everything carrying our tags, in every region, and its removal (`jupyter cloudlab sweep`).

By default only what this computer made (our owner and computer tags; instances also with our
key pair, see `instances.find_ours`); `computer=None` (`--all-computers`, asked for explicitly)
widens it to every resource with our owner tag in the account, whoever made it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import access, images, instances
from .aws_client import AwsClient, AwsTarget
from .errors import CloudError
from .tags import NAME_TAG, Computer, ours_filter, tag_dict

# Removal order: instances first (they hold volumes, interfaces and the group), images before
# their snapshots (a snapshot in use by an image cannot be deleted), then the rest.
KIND_ORDER = ("instance", "image", "snapshot", "volume", "security-group", "key-pair")


@dataclass(frozen=True)
class Resource:
    region: str
    kind: str
    id: str
    name: str
    state: str = ""


async def enabled_regions(ec2: AwsClient) -> list[str]:
    """The regions this account can use (opted in or not requiring it)."""
    reply = await ec2.call("describe_regions", AllRegions=False)
    return sorted(region["RegionName"] for region in reply.get("Regions", []))


async def find_tagged(ec2: AwsClient, computer: Computer | None) -> list[Resource]:
    """Our instances (not yet terminated), images and their snapshots, volumes, security groups
    and key pairs in one region: `computer`'s, or (None) those of every computer in the account."""
    region = ec2.region
    filters = computer.filters() if computer else ours_filter()
    machines = await (
        instances.find_ours(ec2, computer) if computer else instances.find_owner_tagged(ec2)
    )
    found = [Resource(region, "instance", i.instance_id, i.name, i.state) for i in machines]
    saved = await images.find_ours(ec2, computer)
    found += [Resource(region, "image", i.id, i.name, i.state) for i in saved]
    # Snapshots tagged as ours: those of our images, and any whose image is already gone.
    snapshots = await ec2.paginate(
        "describe_snapshots", "Snapshots", OwnerIds=["self"], Filters=filters
    )
    for snapshot in snapshots:
        name = tag_dict(snapshot).get(NAME_TAG, "")
        found.append(
            Resource(region, "snapshot", snapshot["SnapshotId"], name, snapshot.get("State", ""))
        )
    for volume in await ec2.paginate("describe_volumes", "Volumes", Filters=filters):
        name = tag_dict(volume).get(NAME_TAG, "")
        found.append(Resource(region, "volume", volume["VolumeId"], name, volume.get("State", "")))
    groups = await ec2.paginate("describe_security_groups", "SecurityGroups", Filters=filters)
    found += [Resource(region, "security-group", g["GroupId"], g["GroupName"]) for g in groups]
    pairs = await ec2.call("describe_key_pairs", Filters=filters)
    found += [
        Resource(region, "key-pair", p["KeyName"], p["KeyName"]) for p in pairs.get("KeyPairs", [])
    ]
    return found


async def remove(ec2: AwsClient, resources: list[Resource]) -> list[Resource]:
    """Remove the given resources of ec2's region, instances first; returns what was removed."""
    mine = sorted(
        (r for r in resources if r.region == ec2.region), key=lambda r: KIND_ORDER.index(r.kind)
    )
    removed: list[Resource] = []
    ids = [r.id for r in mine if r.kind == "instance"]
    for instance_id in ids:
        await instances.terminate(ec2, instance_id)
    removed += [r for r in mine if r.kind == "instance"]
    gone_with_images: set[str] = set()
    for resource in mine:
        if resource.kind == "image":
            image = await images.describe(ec2, resource.id)
            gone_with_images.update(await images.remove(ec2, image))
        elif resource.kind == "snapshot":
            # An image's snapshots went with it (just above); IAM refuses to touch what is gone.
            if resource.id not in gone_with_images:
                await ec2.call("delete_snapshot", SnapshotId=resource.id)
        elif resource.kind == "volume":
            try:
                await ec2.call("delete_volume", VolumeId=resource.id)
            except CloudError as error:
                # DeleteOnTermination volumes vanish with their instance.
                if error.code != "InvalidVolume.NotFound":
                    raise
        elif resource.kind == "security-group":
            await access.delete_security_group(ec2, resource.id)
        elif resource.kind == "key-pair":
            await ec2.call("delete_key_pair", KeyName=resource.id)
        else:
            continue
        removed.append(resource)
    return removed


async def sweep_regions(
    target: AwsTarget,
    regions: list[str],
    confirm: Callable[[list[Resource]], bool],
    computer: Computer | None,
) -> tuple[list[Resource], list[Resource]]:
    """Find `computer`'s resources (None: every computer's) in `regions`; remove them if
    `confirm(found)` says so.

    Returns (found, removed).
    """
    clients = {region: AwsClient(target, "ec2", region) for region in regions}
    found: list[Resource] = []
    for client in clients.values():
        found += await find_tagged(client, computer)
    if not found or not confirm(found):
        return found, []
    removed: list[Resource] = []
    for client in clients.values():
        removed += await remove(client, found)
    return found, removed
