"""The launch catalog: instance types with their GPUs and prices, and machine images."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Gpu(BaseModel):
    manufacturer: str = Field(examples=["NVIDIA"])
    model: str = Field(examples=["A10G"])
    count: int
    memory_gib: float = Field(description="Memory of one GPU.")


class InstanceTypeModel(BaseModel):
    """An instance type that can be launched, with its GPUs and prices."""

    name: str = Field(examples=["g5.xlarge"])
    vcpus: int
    memory_gib: float
    architecture: str = Field(examples=["x86_64"])
    gpu: Gpu | None = None
    price_per_hour: float | None = Field(default=None, description="On-demand USD per hour.")
    spot_price_per_hour: float | None = Field(
        default=None, description="Lowest current spot USD per hour in the region."
    )
    price_source: str = Field(
        default="snapshot",
        description='"api" (the AWS Pricing API) or "snapshot (YYYY-MM)" (prices shipped with us).',
        examples=["snapshot (2026-11)"],
    )


class InstanceTypeList(BaseModel):
    instance_types: list[InstanceTypeModel]


class ImageModel(BaseModel):
    """A machine image (AMI) offered for launch."""

    id: str = Field(examples=["ami-0123456789abcdef0"])
    name: str
    description: str = ""
    architecture: str = Field(examples=["x86_64"])
    ssh_user: str = Field(examples=["ubuntu"])
    family: str = Field(examples=["deep-learning"])
    ours: bool = Field(
        default=False, description='Saved from one of this computer\'s machines ("yours").'
    )
    state: str = Field(default="available", description="pending while AWS still saves it.")
    snapshot_gib: int | None = Field(
        default=None, description="Size of its snapshots (ours only), billed while kept."
    )
    storage_usd_per_month: float | None = Field(
        default=None,
        description="Estimated cost of keeping it (ours only): snapshot GiB × the snapshot price.",
    )
    storage_price_note: str | None = Field(
        default=None,
        description="What the estimate assumes, with its date.",
        examples=["estimate: $0.05 per GB-month of snapshot (us-east-1, 2026-11)"],
    )


class ImageList(BaseModel):
    images: list[ImageModel]
