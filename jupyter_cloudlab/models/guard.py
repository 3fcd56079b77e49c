"""A machine's guard (idle stop, budget, keep-alive): what it last said, and a change to it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

MAX_IDLE_MINUTES = 10080
"""A week: the longest idle limit a machine's guard takes."""


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
        le=MAX_IDLE_MINUTES,
        description="Minutes of idleness before it powers off; 0: never. The panel sends whole "
        "minutes; fractions are for tests.",
    )
    budget_usd: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description='"Stop at $X" since launch; 0: no budget.',
    )
    keep_until: datetime | None = Field(
        default=None, description='"Keep running until": no idle stop before this time.'
    )
    stop_after_cell: StrictBool | None = Field(
        default=None, description="Stop as soon as the running cell finishes."
    )
