"""Where machines are launched (the account, the server's defaults) and every error reply."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr


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
    """Where machines are launched (the sandbox or AWS), in which region, with which profile,
    and the idle limit and budget a launch gets when it names none."""

    mode: str = Field(json_schema_extra={"enum": ["sandbox", "aws"]})
    region: str = Field(examples=["us-east-1"])
    profile: str | None = None
    message: str = Field(
        default="", description="A sentence for the panel, e.g. why the sandbox is used."
    )
    kernel_classes: str = Field(
        default="", description="Why machine kernels are off (another package's kernel classes)."
    )
    default_idle_minutes: float = Field(
        default=30,
        description="The idle limit (minutes) of a machine whose launch names none "
        "(`c.CloudLab.idle_minutes`); 0: never.",
    )
    default_budget_usd: float = Field(
        default=0,
        description="The budget (USD since launch) of a machine whose launch names none "
        "(`c.CloudLab.default_budget_usd`); 0: none.",
    )


class ErrorReply(BaseModel):
    """Every 4xx/5xx reply of the REST API (handlers/base.py writes it)."""

    message: str = Field(description="A plain sentence that says what to do.")
    reason: str | None = Field(default=None, description="The HTTP reason phrase.")
