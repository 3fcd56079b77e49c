"""What a user asks to make a machine, or to make of a stopped one: a launch, a resize, an image."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from .guard import MAX_IDLE_MINUTES


class LaunchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$",
        description="Defaults to the instance type.",
    )
    instance_type: StrictStr = Field(pattern=r"^[a-z0-9-]+\.[a-z0-9-]+$", examples=["g5.xlarge"])
    image_id: StrictStr = Field(
        description="An AMI id such as ami-0123456789abcdef0.", examples=["ami-0123456789abcdef0"]
    )
    disk_gib: StrictInt = Field(default=100, ge=8, le=16384, description="Root disk size in GiB.")
    disk_type: StrictStr = Field(
        default="gp3",
        pattern=r"^(gp3|gp2|io1|io2)$",
        description="The root disk's EBS volume type.",
        json_schema_extra={"enum": ["gp3", "gp2", "io1", "io2"]},
    )
    spot: StrictBool = False
    spot_persistent: StrictBool = Field(
        default=False,
        description="Spot only: on interruption AWS stops the machine and starts it again later.",
    )
    ssh_user: StrictStr | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_-]{0,31}$",
        description="Login on the machine; defaults to the image family's (ubuntu / ec2-user).",
    )
    mirror: StrictBool = Field(
        default=True,
        description="Mirror each notebook's folder to the machine (the kernel works beside its "
        "files); false: kernels work in the machine's home, with none of the notebook's files.",
    )
    idle_minutes: StrictInt | None = Field(
        default=None,
        ge=0,
        le=MAX_IDLE_MINUTES,
        description="Minutes of idleness after which the machine powers itself off; 0: never; "
        "null: the server's default (Status.default_idle_minutes). Sent to the machine once, "
        "when it is first ready; later it is the machine's own (its row, or `jupyter cloudlab "
        "idle`, change it).",
    )
    budget_usd: StrictFloat | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description='"Stop at $X": USD since launch at which the machine stops itself, even if '
        "busy; 0: no budget; null: the server's default (Status.default_budget_usd).",
    )


class ResizeRequest(BaseModel):
    """`POST /machines/{id}/resize`: the stopped machine's new instance type."""

    model_config = ConfigDict(extra="forbid")

    instance_type: StrictStr = Field(pattern=r"^[a-z0-9-]+\.[a-z0-9-]+$", examples=["g5.2xlarge"])


class ImageRequest(BaseModel):
    """`POST /machines/{id}/image`: save the stopped machine's disk as an image of ours."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ()\[\]./'@_-]{2,127}$",
        description="The image's name (AMI names are unique per account and region).",
        examples=["torch-env-2026-12"],
    )
    description: StrictStr = Field(
        default="",
        max_length=200,
        pattern=r"^[^\x00-\x1f]*$",
        description="What it holds, in your words; CloudLab adds the base image, instance type "
        "and date.",
    )
