"""What the server's configuration (`c.CloudLab`) asks of a session, and what it needs from the
jupyter server it runs in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from ..data_folder import DataFolder
from ..kernels.machine_servers import MachineServer, MachineServerRegistry
from ..models import AccountChoice, Machine


@dataclass(frozen=True)
class SessionOptions:
    mode: str
    """auto | aws | sandbox"""
    region: str
    """Where launches go; empty: the profile's region, else us-east-1."""
    profile: str | None
    endpoint_url: str | None
    data_folder: DataFolder
    remote_python: str
    ssh_from_cidr: str
    sandbox_ssh_server: str
    wheelhouse: str = ""
    ssh_forward: str = "auto"
    """auto | openssh | asyncssh"""
    machine_env_roots: tuple[str, ...] = ("/opt/conda/envs", "/opt")
    regions: tuple[str, ...] = ()
    """Other regions where our machines are looked for at start (AWS mode)."""
    machine_server: tuple[tuple[str, object], ...] = ()
    """Settings of the machine's jupyter server (culling, offline buffer), see app.py."""

    def for_account(self, choice: AccountChoice, configured: SessionOptions) -> SessionOptions:
        """These options for the profile and region picked in the settings (None: the
        server's own, from `configured`)."""
        return replace(
            self,
            profile=choice.profile or configured.profile,
            region=choice.region or configured.region,
        )


@dataclass(frozen=True)
class ServerHooks:
    """What a session needs from the jupyter server: its registry of machine servers (the
    kernel layer reads it), and bridges to its kernel managers and event bus."""

    machine_servers: MachineServerRegistry
    list_kernelspecs: Callable[[MachineServer], Awaitable[list[str]]]
    forget_kernels: Callable[[str], Awaitable[None]]
    emit: Callable[[Machine], None]
