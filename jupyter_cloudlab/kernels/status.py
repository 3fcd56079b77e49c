"""A machine's connection as the kernel layer sees it: tunnel state, since when, its kernels."""

from __future__ import annotations

from typing import Any

from ..models import TunnelState
from .machine_servers import MachineServerRegistry


def connection_status(
    registry: MachineServerRegistry, kernel_manager: Any, machine_id: str
) -> dict[str, Any]:
    """``{"machine_id", "tunnel", "since", "kernels"}``; a machine never connected is
    ``detached`` since None. Kernels: the machine kernels this server lists for the machine."""
    status = registry.link_status(machine_id)
    listed = getattr(kernel_manager, "machine_kernels", None)
    kernels = sorted(
        rk.kernel_id for rk in (listed() if listed else []) if rk.machine_id == machine_id
    )
    return {
        "machine_id": machine_id,
        "tunnel": status.tunnel if status else TunnelState.detached,
        "since": status.since if status else None,
        "kernels": kernels,
    }
