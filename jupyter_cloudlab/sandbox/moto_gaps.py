"""Where moto (the sandbox's EC2) answers what AWS would not, made to answer as AWS does.

CreateImage with a TagSpecification for the image's snapshots: AWS tags them (and our IAM policy
requires it, see iam-policy.json), moto refuses the request. The sandbox patches moto's image
backend in its own process once, so CloudLab sends the sandbox exactly what it sends AWS.
"""

from __future__ import annotations

from typing import Any

_patched = False


def create_image_tagging_snapshots(
    backend: Any,
    instance_id: str,
    name: str,
    description: str,
    tag_specifications: list[dict[str, Any]],
) -> Any:
    """moto's CreateImage, with the snapshot's tags applied as AWS applies them."""
    snapshot = [s for s in tag_specifications if s["ResourceType"] == "snapshot"]
    rest = [s for s in tag_specifications if s["ResourceType"] != "snapshot"]
    image = MOTO_CREATE_IMAGE(backend, instance_id, name, description, rest)
    tags = {t["Key"]: t["Value"] for spec in snapshot for t in spec["Tags"]}
    if tags:
        backend.create_tags([image.ebs_snapshot.id], tags)  # EC2's backend: a TagBackend too
    return image


def close_gaps() -> None:
    """Patch moto in this process (idempotent; the sandbox calls it before serving)."""
    global _patched, MOTO_CREATE_IMAGE
    if _patched:
        return
    from moto.ec2.models.amis import AmiBackend

    MOTO_CREATE_IMAGE = AmiBackend.create_image
    setattr(AmiBackend, "create_image", create_image_tagging_snapshots)  # noqa: B010 (a patch)
    _patched = True


MOTO_CREATE_IMAGE: Any = None
"""moto's own CreateImage, once `close_gaps` has replaced it."""
