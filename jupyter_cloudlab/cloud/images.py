"""Images (AMIs) saved from our machines: created tagged as ours, what keeping them costs, and
their removal with their snapshots (`sweep`).

An image is ours when it is owned by this account and carries our owner and computer tags (set
in CreateImage itself, on the image and its snapshots, as `iam-policy.json` requires).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import ErrorKind
from .aws_client import AwsClient
from .errors import CloudError
from .tags import (
    COMPUTER_TAG,
    NAME_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    SSH_USER_TAG,
    Computer,
    Owner,
    tag_dict,
    tag_list,
)

# EBS snapshot storage, standard tier, us-east-1 (most regions within a cent), 2026-11. The billed
# size is what the snapshot holds (often less than its disk's size), so this is an upper estimate.
SNAPSHOT_USD_PER_GB_MONTH = 0.05
SNAPSHOT_PRICE_NOTE = "estimate: $0.05 per GB-month of snapshot (us-east-1, 2026-11)"
DESCRIPTION_MAX = 255  # AWS's limit on an image's description


@dataclass(frozen=True)
class SavedImage:
    """One of our images: what the picker, `jupyter cloudlab images` and sweep show."""

    id: str
    name: str
    state: str
    snapshot_ids: tuple[str, ...]
    snapshot_gib: int

    @property
    def storage_usd_per_month(self) -> float:
        return round(self.snapshot_gib * SNAPSHOT_USD_PER_GB_MONTH, 2)


def is_ours(raw: dict[str, Any], computer: Computer | None) -> bool:
    """Our owner tag, and `computer`'s tag (None: any computer's, for `sweep --all-computers`)."""
    tags = tag_dict(raw)
    if tags.get(OWNER_TAG) != OWNER_VALUE:
        return False
    return computer is None or tags.get(COMPUTER_TAG) == computer.digest


def saved_image(raw: dict[str, Any]) -> SavedImage:
    disks = [m["Ebs"] for m in raw.get("BlockDeviceMappings", []) if "Ebs" in m]
    return SavedImage(
        id=raw["ImageId"],
        name=raw.get("Name", raw["ImageId"]),
        state=raw.get("State", "available"),
        snapshot_ids=tuple(d["SnapshotId"] for d in disks if d.get("SnapshotId")),
        snapshot_gib=sum(int(d.get("VolumeSize", 0)) for d in disks),
    )


def description(base_image: str, instance_type: str, words: str) -> str:
    """What the image holds: the user's words, then the base image, type and date."""
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    made = f"Saved by CloudLab from a {instance_type} machine of {base_image} on {today}"
    text = f"{words.strip()} ({made})" if words.strip() else made
    return text[:DESCRIPTION_MAX]


async def create(
    ec2: AwsClient, owner: Owner, instance_id: str, name: str, text: str, ssh_user: str
) -> SavedImage:
    """CreateImage of a stopped instance, tagged as ours (image and snapshots) from the start,
    with the login its machines use (the catalog reads it back)."""
    tags = tag_list({**owner.tags(), NAME_TAG: name, SSH_USER_TAG: ssh_user})
    kinds = ("image", "snapshot")
    try:
        reply = await _create_image(ec2, instance_id, name, text, tags, kinds)
    except CloudError as error:
        if error.code == "InvalidAMIName.Duplicate":
            raise CloudError(
                f"An image called '{name}' already exists in {ec2.region}: pick another name.",
                ErrorKind.invalid,
            ) from error
        raise
    return await describe(ec2, reply["ImageId"])


async def _create_image(
    ec2: AwsClient,
    instance_id: str,
    name: str,
    text: str,
    tags: list[dict[str, str]],
    kinds: tuple[str, ...],
) -> dict[str, Any]:
    reply: dict[str, Any] = await ec2.call(
        "create_image",
        InstanceId=instance_id,
        Name=name,
        Description=text,
        NoReboot=True,  # the machine is stopped; never reboot one that is not
        TagSpecifications=[{"ResourceType": kind, "Tags": tags} for kind in kinds],
    )
    return reply


async def describe(ec2: AwsClient, image_id: str) -> SavedImage:
    reply = await ec2.call("describe_images", ImageIds=[image_id])
    for raw in reply.get("Images", []):
        return saved_image(raw)
    raise CloudError(f"AWS does not know the image {image_id}.", ErrorKind.not_found)


async def find_ours(ec2: AwsClient, computer: Computer | None) -> list[SavedImage]:
    """Our images in this region: `computer`'s, or (None) every computer's."""
    filters = [{"Name": f"tag:{OWNER_TAG}", "Values": [OWNER_VALUE]}]
    reply = await ec2.call("describe_images", Owners=["self"], Filters=filters)
    return [saved_image(raw) for raw in reply.get("Images", []) if is_ours(raw, computer)]


async def remove(ec2: AwsClient, image: SavedImage) -> tuple[str, ...]:
    """Deregister the image, then delete its snapshots (AWS keeps them, and bills them, else);
    returns the snapshots deleted."""
    await ec2.call("deregister_image", ImageId=image.id)
    for snapshot_id in image.snapshot_ids:
        try:
            await ec2.call("delete_snapshot", SnapshotId=snapshot_id)
        except CloudError as error:
            if error.code != "InvalidSnapshot.NotFound":
                raise
    return image.snapshot_ids
