"""The machines that currently offer kernels, as the kernel layer sees them.

The orchestrator (machines/) adds a machine server when a machine's tunnel is up and removes it when
the machine stops; the kernel spec manager, kernel manager and websocket connection read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..models import TunnelState
from .kernel_files import MachineFiles

KERNEL_NAME_PREFIX = "cloudlab."


@dataclass(frozen=True)
class MachineServer:
    """A machine's jupyter_server reachable through the tunnel's local end: a Unix socket in a
    folder only this user can enter (a loopback port could be taken by another local user)."""

    machine_id: str
    """Our id of the machine, e.g. ``m-1a2b3c4d``; used in kernel names."""
    machine_name: str
    """The name the user gave the machine."""
    base_url: str
    """The base of its URLs, e.g. ``http://cloudlab-m-1a2b3c4d`` (no trailing slash). With a
    ``socket_path`` its host only names the machine (in URLs of log lines and errors): requests go
    to the socket. Without one (tests' plain servers) it is where to connect."""
    token: str = field(repr=False)
    """The machine server's token. Never sent to the browser, nor shown by repr (log lines,
    tracebacks)."""
    label: str
    """Shown after kernel display names, e.g. ``g5.xlarge · A10G 24 GB``."""
    socket_path: str | None = None
    """The tunnel's local Unix socket, where requests go."""
    files: MachineFiles | None = field(default=None, repr=False, compare=False)
    """The machine's workspace mirror (kernels start beside their notebook's files); None when
    the mirror is off for this machine: kernels then start in the machine server's root."""


def machine_kernel_name(machine_id: str, remote_name: str) -> str:
    """The local name of a machine's kernelspec: ``cloudlab.<machine_id>.<remote name>``."""
    return f"{KERNEL_NAME_PREFIX}{machine_id}.{remote_name}"


def parse_machine_kernel_name(name: str) -> tuple[str, str] | None:
    """Split a local kernel name into (machine_id, remote name); None for a local kernel."""
    if not name.startswith(KERNEL_NAME_PREFIX):
        return None
    machine_id, _, remote_name = name[len(KERNEL_NAME_PREFIX) :].partition(".")
    if not machine_id or not remote_name:
        return None
    return machine_id, remote_name


@dataclass(frozen=True)
class LinkStatus:
    """A machine's tunnel as the kernel layer sees it."""

    machine_id: str
    tunnel: TunnelState
    since: datetime


class MachineServerRegistry:
    """Machine servers by machine id, with change callbacks (kernelspec lists depend on them), and each
    machine's tunnel status."""

    def __init__(self) -> None:
        self._machine_servers: dict[str, MachineServer] = {}
        self._listeners: list[Callable[[], None]] = []
        self._links: dict[str, LinkStatus] = {}
        self._link_listeners: list[Callable[[LinkStatus], None]] = []

    def add(self, machine_server: MachineServer) -> None:
        self._machine_servers[machine_server.machine_id] = machine_server
        self.set_link_state(machine_server.machine_id, TunnelState.up)
        self._notify()

    def remove(self, machine_id: str) -> MachineServer | None:
        machine_server = self._machine_servers.pop(machine_id, None)
        if machine_server is not None:
            self.set_link_state(machine_id, TunnelState.detached)
            self._notify()
        return machine_server

    def set_link_state(self, machine_id: str, tunnel: TunnelState) -> None:
        """Record a tunnel change (the orchestrator reports down/gone; add/remove do up and
        detached); listeners hear only real changes."""
        current = self._links.get(machine_id)
        if current is not None and current.tunnel == tunnel:
            return
        status = LinkStatus(machine_id, tunnel, datetime.now(timezone.utc))
        self._links[machine_id] = status
        for listener in list(self._link_listeners):
            listener(status)

    def link_status(self, machine_id: str) -> LinkStatus | None:
        return self._links.get(machine_id)

    def on_link_change(self, listener: Callable[[LinkStatus], None]) -> None:
        self._link_listeners.append(listener)

    def get(self, machine_id: str) -> MachineServer | None:
        return self._machine_servers.get(machine_id)

    def all(self) -> list[MachineServer]:
        return list(self._machine_servers.values())

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
