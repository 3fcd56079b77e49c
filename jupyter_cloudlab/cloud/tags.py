"""The tags that mark a resource as ours; the cloud, not a local file, is the truth."""

from __future__ import annotations

OWNER_TAG = "cloudlab:owner"
OWNER_VALUE = "jupyter_cloudlab"
MACHINE_ID_TAG = "cloudlab:machine-id"
NAME_TAG = "Name"
SSH_USER_TAG = "cloudlab:ssh-user"


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(resource: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def ours_filter() -> list[dict]:
    return [{"Name": f"tag:{OWNER_TAG}", "Values": [OWNER_VALUE]}]
