"""A machine's connection as the kernel layer sees it: tunnel state, since when, its kernels."""

from __future__ import annotations

from typing import Any

from .gateways import GatewayRegistry


def connection_status(
    registry: GatewayRegistry, kernel_manager: Any, machine_id: str
) -> dict[str, Any]:
    """``{"machine_id", "tunnel", "since", "kernels"}``; a machine never connected is
    ``detached`` since None. Kernels: the remote kernels this server lists for the machine."""
    status = registry.link_status(machine_id)
    remote = getattr(kernel_manager, "remote_kernels", None)
    kernels = sorted(
        rk.kernel_id for rk in (remote() if remote else []) if rk.machine_id == machine_id
    )
    return {
        "machine_id": machine_id,
        "tunnel": status.tunnel if status else "detached",
        "since": status.since if status else None,
        "kernels": kernels,
    }
