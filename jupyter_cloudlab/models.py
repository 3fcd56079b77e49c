"""REST request and response bodies: the one source of openapi.yaml's schemas, whence
src/api_types.ts (`python -m jupyter_cloudlab.handlers.openapi`, then `jlpm build:api-types`)."""

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


class Machine(BaseModel):
    """A machine as the REST API returns it."""

    id: str = Field(description="Our id for the machine.", examples=["m-1a2b3c4d"])
    instance_id: str | None = Field(default=None, description="The EC2 instance id, once known.")
    name: str
    instance_type: str = Field(examples=["g5.xlarge"])
    image_id: str
    region: str
    spot: bool = False
    state: MachineState
    state_since: datetime = Field(description="When the machine entered its state.")
    launched_at: datetime | None = None
    message: str | None = Field(
        default=None, description="What went wrong and what to do, when state is failed."
    )
    address: str | None = Field(
        default=None, description="The public address (host:port) SSH reaches."
    )
    gpu_label: str = Field(default="CPU", examples=["A10G 24 GB", "CPU"])
    price_per_hour: float | None = Field(default=None, description="On-demand USD per hour.")
    kernelspecs: list[str] = Field(
        default_factory=list,
        description="Names of this machine's kernelspecs in the local /api/kernelspecs.",
    )
    mirror: bool = Field(
        default=True,
        description="Whether notebooks' folders are mirrored to the machine (see LaunchRequest).",
    )
    workspace: str | None = Field(
        default=None,
        description="The machine's folder that holds the mirrored folders, once connected.",
        examples=["~/cloudlab/work"],
    )
    actions: list[MachineAction] = Field(
        default_factory=list,
        description="What the user may ask of the machine in its current state; the panel's "
        "buttons come from here.",
    )


class MachineChange(BaseModel):
    """What a user may change on a machine: `PATCH /machines/{id}`."""

    model_config = ConfigDict(extra="forbid")

    mirror: StrictBool | None = Field(
        default=None, description="Turn the workspace mirror on or off (null: unchanged)."
    )


class MachineConnection(BaseModel):
    """A machine's tunnel (see TunnelState), since when, and its kernels."""

    machine_id: str
    tunnel: TunnelState
    since: datetime | None = Field(
        description="When the tunnel entered this state; null if never connected."
    )
    kernels: list[str] = Field(description="Ids of the machine's kernels this server lists.")


class MachineList(BaseModel):
    machines: list[Machine]


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


class ImageList(BaseModel):
    images: list[ImageModel]


class AccountChoice(BaseModel):
    """The AWS profile and region picked in JupyterLab's settings (null: the server's)."""

    model_config = ConfigDict(extra="forbid")

    profile: StrictStr | None = Field(
        default=None, pattern=r"^[\w+=,.@-]{1,128}$", examples=["work-sso"]
    )
    region: StrictStr | None = Field(
        default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$", examples=["eu-west-1"]
    )


class Status(BaseModel):
    """Where machines are launched (the sandbox or AWS), in which region, with which profile."""

    mode: str = Field(json_schema_extra={"enum": ["sandbox", "aws"]})
    region: str = Field(examples=["us-east-1"])
    profile: str | None = None
    message: str = Field(
        default="", description="A sentence for the panel, e.g. why the sandbox is used."
    )


class ErrorReply(BaseModel):
    """Every 4xx/5xx reply of the REST API (handlers/base.py writes it)."""

    message: str = Field(description="A plain sentence that says what to do.")
    reason: str | None = Field(default=None, description="The HTTP reason phrase.")
