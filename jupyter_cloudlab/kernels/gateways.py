"""The machines that currently offer kernels, as the kernel layer sees them.

The orchestrator (machines/) adds a gateway when a machine's tunnel is up and removes it when
the machine stops; the kernel spec manager, kernel manager and websocket connection read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KERNEL_NAME_PREFIX = "cloudlab."


@dataclass(frozen=True)
class Gateway:
    """A remote jupyter_server reachable through a local port forward."""

    machine_id: str
    """Our id of the machine, e.g. ``m-1a2b3c4d``; used in kernel names."""
    machine_name: str
    """The name the user gave the machine."""
    base_url: str
    """Local end of the forward, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
    token: str
    """The remote server's token. Never sent to the browser."""
    label: str
    """Shown after kernel display names, e.g. ``g5.xlarge · A10G 24 GB``."""


def remote_kernel_name(machine_id: str, remote_name: str) -> str:
    """The local name of a machine's kernelspec: ``cloudlab.<machine_id>.<remote name>``."""
    return f"{KERNEL_NAME_PREFIX}{machine_id}.{remote_name}"


def parse_remote_kernel_name(name: str) -> tuple[str, str] | None:
    """Split a local kernel name into (machine_id, remote name); None for a local kernel."""
    if not name.startswith(KERNEL_NAME_PREFIX):
        return None
    machine_id, _, remote_name = name[len(KERNEL_NAME_PREFIX) :].partition(".")
    if not machine_id or not remote_name:
        return None
    return machine_id, remote_name


class GatewayRegistry:
    """Gateways by machine id, with change callbacks (kernelspec lists depend on them)."""

    def __init__(self) -> None:
        self._gateways: dict[str, Gateway] = {}
        self._listeners: list[Callable[[], None]] = []

    def add(self, gateway: Gateway) -> None:
        self._gateways[gateway.machine_id] = gateway
        self._notify()

    def remove(self, machine_id: str) -> Gateway | None:
        gateway = self._gateways.pop(machine_id, None)
        if gateway is not None:
            self._notify()
        return gateway

    def get(self, machine_id: str) -> Gateway | None:
        return self._gateways.get(machine_id)

    def all(self) -> list[Gateway]:
        return list(self._gateways.values())

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
