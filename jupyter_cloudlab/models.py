"""REST request and response bodies (mirrored by src/tokens.ts and openapi.yaml)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class MachineState(str, Enum):
    requesting = "requesting"
    pending = "pending"
    connecting = "connecting"
    bootstrapping = "bootstrapping"
    ready = "ready"
    stopping = "stopping"
    stopped = "stopped"
    starting = "starting"
    rebooting = "rebooting"
    terminating = "terminating"
    terminated = "terminated"
    failed = "failed"


class MachineAction(str, Enum):
    """What a user may ask of a machine (see machines/transitions.py for when)."""

    stop = "stop"
    start = "start"
    reboot = "reboot"
    terminate = "terminate"


class TunnelState(str, Enum):
    """A machine's tunnel: one vocabulary from the SSH layer to the panel."""

    up = "up"
    """Forwarding: the machine's kernels are reachable."""
    down = "down"
    """Healing: the machine runs and its kernels keep running; SSH is being reconnected."""
    gone = "gone"
    """The machine no longer runs (it stopped by itself, or from elsewhere)."""
    refused = "refused"
    """Its SSH host key changed: not retried until the user acts."""
    detached = "detached"
    """No link: never connected, or let go (stop, terminate, this server's exit)."""


class LaunchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$",
        description="Defaults to the instance type.",
    )
    instance_type: StrictStr = Field(pattern=r"^[a-z0-9-]+\.[a-z0-9-]+$", examples=["g5.xlarge"])
    image_id: StrictStr = Field(description="An AMI id such as ami-0123456789abcdef0.")
    disk_gib: StrictInt = Field(default=100, ge=8, le=16384)
    disk_type: StrictStr = Field(default="gp3", pattern=r"^(gp3|gp2|io1|io2)$")
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


class Machine(BaseModel):
    id: str
    instance_id: str | None = None
    name: str
    instance_type: str
    image_id: str
    region: str
    spot: bool = False
    state: MachineState
    state_since: datetime
    launched_at: datetime | None = None
    message: str | None = None
    address: str | None = None
    gpu_label: str = "CPU"
    price_per_hour: float | None = None
    kernelspecs: list[str] = Field(default_factory=list)
    actions: list[MachineAction] = Field(
        default_factory=list,
        description="What the user may ask of the machine in its current state; the panel's "
        "buttons come from here.",
    )


class MachineConnection(BaseModel):
    """A machine's tunnel (see TunnelState), since when, and its kernels."""

    machine_id: str
    tunnel: TunnelState
    since: datetime | None
    kernels: list[str]


class MachineList(BaseModel):
    machines: list[Machine]


class Gpu(BaseModel):
    manufacturer: str
    model: str
    count: int
    memory_gib: float


class InstanceTypeModel(BaseModel):
    name: str
    vcpus: int
    memory_gib: float
    architecture: str
    gpu: Gpu | None = None
    price_per_hour: float | None = None
    spot_price_per_hour: float | None = None
    price_source: str = Field(
        default="snapshot",
        description='"api" (the AWS Pricing API) or "snapshot (YYYY-MM)" (prices shipped with us).',
    )


class InstanceTypeList(BaseModel):
    instance_types: list[InstanceTypeModel]


class ImageModel(BaseModel):
    id: str
    name: str
    description: str = ""
    architecture: str
    ssh_user: str
    family: str


class ImageList(BaseModel):
    images: list[ImageModel]


class AccountChoice(BaseModel):
    """The AWS profile and region picked in JupyterLab's settings (null: the server's)."""

    model_config = ConfigDict(extra="forbid")

    profile: StrictStr | None = Field(default=None, pattern=r"^[\w+=,.@-]{1,128}$")
    region: StrictStr | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


class Status(BaseModel):
    mode: str
    region: str
    profile: str | None = None
    message: str = ""
