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
    retry = "retry"
    """Connect and bootstrap again a failed machine whose instance still runs."""
    resize = "resize"
    """Change the instance type of a stopped machine."""
    image = "image"
    """Save a stopped machine's disk as an image (AMI) of ours."""
    dismiss = "dismiss"
    """Remove the row of a machine that was terminated from outside."""


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


class CostLine(BaseModel):
    """One thing a machine is billed for (compute, a disk, the public IPv4 address)."""

    what: str = Field(examples=["compute g5.xlarge spot us-east-1", "EBS gp3 100 GB"])
    per_hour: float | None = Field(default=None, description="USD per hour; null: unknown.")
    per_month: float | None = Field(
        default=None, description="USD per month, for what is priced by the month (EBS)."
    )


class IdleStatus(BaseModel):
    """The machine's guard, as it last answered: idleness, the planned stop, keep-alive."""

    idle_since: datetime | None = Field(
        default=None, description="Idle since then; null while busy (a cell, a terminal, a GPU)."
    )
    stops_at: datetime | None = Field(
        default=None, description="When it stops if nothing changes (idle limit or deadline)."
    )
    keep_until: datetime | None = Field(
        default=None, description='"Keep running until": no idle stop before then.'
    )
    stop_after_cell: bool = Field(default=False, description="It stops as soon as no cell runs.")
    busy: list[str] = Field(default_factory=list, description="Why it is not idle now.")
    warning: str | None = Field(
        default=None, description="A sentence when it stops within 5 minutes."
    )
    spot_notice: str | None = Field(
        default=None, description="EC2's spot interruption notice, when one came: a sentence."
    )


class GuardChange(BaseModel):
    """`PUT /machines/{id}/guard`: the machine's idle limit, budget, keep-alive, stop after cell
    (each optional; applied live, kernels untouched)."""

    model_config = ConfigDict(extra="forbid")

    idle_minutes: float | None = Field(
        default=None,
        ge=0,
        le=10080,
        description="Minutes of idleness before it powers off; 0: never. The panel sends whole "
        "minutes; fractions are for tests.",
    )
    budget_usd: float | None = Field(
        default=None, ge=0, description='"Stop at $X" since launch; 0: no budget.'
    )
    keep_until: datetime | None = Field(
        default=None, description='"Keep running until": no idle stop before this time.'
    )
    stop_after_cell: StrictBool | None = Field(
        default=None, description="Stop as soon as the running cell finishes."
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
        default=None, description="Failed: what went wrong and what to do; else the step under way."
    )
    address: str | None = Field(
        default=None, description="The public address (host:port) SSH reaches."
    )
    gpu_label: str = Field(default="CPU", examples=["A10G 24 GB", "CPU"])
    price_per_hour: float | None = Field(
        default=None,
        description="Compute USD per hour in its region for its purchase option (on-demand or "
        "spot); see price_source.",
    )
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
    stop_reason: str | None = Field(
        default=None,
        description="Why the machine stopped or was terminated, when not by our Stop or "
        "Terminate (idle stop, budget, spot interruption, the AWS console or CLI): a sentence.",
    )
    instance_state: str | None = Field(
        default=None,
        description="EC2's state of the instance when CloudLab last looked (at a failure, a "
        "stop seen from outside): a failed machine that is running can be retried.",
        examples=["running"],
    )

    price_source: str = Field(
        default="",
        description='Where price_per_hour comes from: "api" (the AWS Pricing API), '
        '"snapshot us-east-1 (2026-11)", "spot price at launch", or why it is unknown.',
        examples=["spot price at launch"],
    )
    hourly_cost: float | None = Field(
        default=None,
        description="USD per hour while it runs: compute, EBS and the public IPv4 address.",
    )
    stopped_cost_per_month: float | None = Field(
        default=None, description="USD per month its disks cost, running or stopped."
    )
    spent_usd: float | None = Field(
        default=None,
        description="USD billed since its launch (from EC2's times; survives restarts), when "
        "this reply was made; null when a price is unknown.",
    )
    spent_today_usd: float | None = Field(
        default=None, description="USD billed since midnight (this server's time zone)."
    )
    cost_lines: list[CostLine] = Field(default_factory=list, description="What makes up its cost.")
    idle_minutes: int | None = Field(
        default=None,
        description="Minutes of idleness after which the machine powers itself off (0: never); "
        "null until set.",
    )
    budget_usd: float | None = Field(
        default=None,
        description='"Stop at $X": USD since launch at which the machine stops itself, even if '
        "busy; null: none.",
    )
    stop_at: datetime | None = Field(
        default=None,
        description="The machine's own deadline from its budget (spent, hourly cost): it stops "
        "then even with the laptop closed.",
    )
    idle: IdleStatus | None = Field(
        default=None, description="What the machine's guard last said (ready machines only)."
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
    kernel_classes: str = Field(
        default="", description="Why machine kernels are off (another package's kernel classes)."
    )


class MachineLog(BaseModel):
    """The last lines of a running machine's server log (`~/.cloudlab/gateway.log`)."""

    machine_id: str
    lines: int = Field(description="How many lines were asked for.")
    text: str = Field(description="The log's last lines, at most 1 MiB of them.")


class ErrorReply(BaseModel):
    """Every 4xx/5xx reply of the REST API (handlers/base.py writes it)."""

    message: str = Field(description="A plain sentence that says what to do.")
    reason: str | None = Field(default=None, description="The HTTP reason phrase.")
