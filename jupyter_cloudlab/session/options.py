"""What the server's configuration (`c.CloudLab`) asks of a session, and what it needs from the
jupyter server it runs in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from ..data_folder import DataFolder
from ..kernels.machine_servers import MachineServer, MachineServerRegistry
from ..models import AccountChoice, Machine
from ..workspace.mirror import DEFAULT_SIZE_LIMIT, MirrorNotice


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
    local_root: str = ""
    """The local jupyter server's root dir (notebook paths are relative to it); empty: no
    workspace mirror."""
    workspace_size_limit: int = DEFAULT_SIZE_LIMIT
    """Bytes mirrored at most per folder."""
    workspace_scope: str = "folder"
    """folder | git: the notebook's folder, or its enclosing git repository."""
    default_idle_minutes: float = 30.0
    """The idle limit of a machine whose launch names none (every machine server starts with
    it, see `machine_server`); 0: never."""
    default_budget_usd: float = 0.0
    """The budget of a machine whose launch names none; 0: none."""

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
    notify_workspace: Callable[[MirrorNotice], None] = lambda notice: None
    """What the user must hear about a mirror (progress, conflicts, what was left out)."""
