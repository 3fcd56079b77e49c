"""A machine as the REST API shows it: its states, the actions they allow, its tunnel, its cost
lines, what a user may change on it, its connection and its server's log."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from .guard import IdleStatus


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


class CostLine(BaseModel):
    """One thing a machine is billed for (compute, a disk, the public IPv4 address)."""

    what: str = Field(examples=["compute g5.xlarge spot us-east-1", "EBS gp3 100 GB"])
    per_hour: float | None = Field(default=None, description="USD per hour; null: unknown.")
    per_month: float | None = Field(
        default=None, description="USD per month, for what is priced by the month (EBS)."
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
        description="Minutes of idleness after which the machine powers itself off (0: never): "
        "its launch's from the start, then as its guard says; null: not known yet.",
    )
    budget_usd: float | None = Field(
        default=None,
        description='"Stop at $X": USD since launch at which the machine stops itself, even if '
        "busy; 0: none, chosen; null: none set (the server's default budget is given to it at "
        "its start).",
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


class MachineLog(BaseModel):
    """The last lines of a running machine's server log (`~/.cloudlab/gateway.log`)."""

    machine_id: str
    lines: int = Field(description="How many lines were asked for.")
    text: str = Field(description="The log's last lines, at most 1 MiB of them.")
