"""REST request and response bodies, by subject: the one source of openapi.yaml's schemas, whence
src/api_types.ts (`python -m jupyter_cloudlab.handlers.openapi`, then `jlpm build:api-types`).
Every layer imports them from here (`from ..models import Machine`)."""

from __future__ import annotations

from .catalog import Gpu, ImageList, ImageModel, InstanceTypeList, InstanceTypeModel
from .guard import GuardChange, IdleStatus
from .launch import ImageRequest, LaunchRequest, ResizeRequest
from .machine import (
    CostLine,
    Machine,
    MachineAction,
    MachineChange,
    MachineConnection,
    MachineList,
    MachineLog,
    MachineState,
    TunnelState,
)
from .status import AccountChoice, ErrorReply, Status

__all__ = [
    "AccountChoice",
    "CostLine",
    "ErrorReply",
    "Gpu",
    "GuardChange",
    "IdleStatus",
    "ImageList",
    "ImageModel",
    "ImageRequest",
    "InstanceTypeList",
    "InstanceTypeModel",
    "LaunchRequest",
    "Machine",
    "MachineAction",
    "MachineChange",
    "MachineConnection",
    "MachineList",
    "MachineLog",
    "MachineState",
    "ResizeRequest",
    "Status",
    "TunnelState",
]
