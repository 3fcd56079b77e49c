"""The server extension: options, the backend's wiring to the server, the REST routes, start and
stop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_events import EventLogger
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from traitlets import Bool, Enum, Float, Int, List, Unicode, default

from .data_folder import DataFolder
from .events import (
    CONNECTION_EVENT_SCHEMA,
    CONNECTION_EVENT_SCHEMA_ID,
    MACHINE_EVENT_SCHEMA,
    MACHINE_EVENT_SCHEMA_ID,
    WORKSPACE_EVENT_SCHEMA,
    WORKSPACE_EVENT_SCHEMA_ID,
)
from .handlers import api_routes
from .handlers.machine_proxy_routes import machine_proxy_routes
from .kernels.config import (
    attach_machine_servers,
    foreign_kernel_classes,
    mixing_server_config,
    persistence_server_config,
)
from .kernels.machine_servers import (
    LinkStatus,
    MachineServer,
    MachineServerRegistry,
    machine_kernel_name,
)
from .kernels.server_client import MachineServerClient
from .kernels.status import connection_status
from .models import Machine
from .session.backend import CloudLabBackend
from .session.options import ServerHooks, SessionOptions
from .workspace.mirror import DEFAULT_SIZE_LIMIT, MirrorNotice

STOP_TIMEOUT_SECONDS = 20
PACKAGE_LOGGER = "jupyter_cloudlab"


class _ToServerLog(logging.Handler):
    """Hands our modules' records to the server's log, whose handlers (console, log file,
    format) the server configures; the server's logger does not take records from ours."""

    def __init__(self, server_log: logging.Logger) -> None:
        super().__init__()
        self.server_log = server_log

    def emit(self, record: logging.LogRecord) -> None:
        self.server_log.handle(record)


def log_through_server(server_log: logging.Logger) -> None:
    """`jupyter_cloudlab.*` loggers write to the server's log at its level (never to root's)."""
    package = logging.getLogger(PACKAGE_LOGGER)
    for stale in [h for h in package.handlers if isinstance(h, _ToServerLog)]:
        package.removeHandler(stale)  # a previous server of this process (tests)
    package.addHandler(_ToServerLog(server_log))
    package.setLevel(server_log.getEffectiveLevel())
    package.propagate = False  # the server's log decides where lines go, once


class CloudLab(ExtensionApp):
    """Launch EC2 machines from JupyterLab and use their kernels beside the local ones."""

    name = "jupyter_cloudlab"
    description = __doc__

    mode = Enum(
        ["auto", "aws", "sandbox"],
        default_value="auto",
        config=True,
        help="Where machines run: 'aws', the local 'sandbox' (a simulated EC2), or 'auto' "
        "(AWS when the boto3 credential chain finds credentials, else the sandbox).",
    )
    region = Unicode(
        "", config=True, help="AWS region; empty means the profile's region, else us-east-1."
    )
    regions = List(
        Unicode(),
        default_value=[],
        config=True,
        help="Other AWS regions where machines of ours are looked for at start (launches go "
        "to `region`); empty: `region` only.",
    )
    profile = Unicode(
        None, allow_none=True, config=True, help="AWS profile name (~/.aws/config); None: default."
    )
    endpoint_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="A custom EC2 endpoint (for EC2-compatible APIs or tests); None means AWS.",
    )
    data_dir = Unicode(
        config=True,
        help="Where CloudLab keeps its SSH key (0600), pinned host keys and machine cache.",
    )
    remote_python = Unicode(
        "python3",
        config=True,
        help="The Python on the machine that runs its jupyter server. Without jupyter_server "
        "and ipykernel, an environment is made under ~/.cloudlab on the machine.",
    )
    wheelhouse = Unicode(
        "",
        config=True,
        help="A local folder of wheels (jupyter_server, ipykernel and their dependencies) "
        "uploaded over SFTP to machines that must install without internet; empty: the "
        "machine installs from its package index.",
    )
    machine_env_roots = List(
        Unicode(),
        default_value=["/opt/conda/envs", "/opt"],
        config=True,
        help="Folders on the machine whose sub-folders with bin/python and ipykernel (as on "
        "Deep Learning AMIs) are offered as kernels, without installing anything into them.",
    )
    machine_cull_idle_timeout = Int(
        0,
        config=True,
        help="Seconds after which the machine's own server shuts down an idle kernel; 0: never. "
        "(The local culler never touches machines' kernels.) Applies when the machine's "
        "server starts.",
    )
    machine_cull_busy = Bool(
        False, config=True, help="Whether the machine's culler may also shut down busy kernels."
    )
    machine_offline_buffer_mb = Int(
        64,
        config=True,
        help="Output the machine keeps per kernel while no client is connected (MB); past it, "
        "output is dropped and the notebook is told how much.",
    )
    idle_minutes = Float(
        30,
        config=True,
        help="Minutes of idleness (no cell, terminal input, workspace transfer or GPU use) after "
        "which a machine powers itself off, when its launch names none; 0: never. Each "
        "machine's limit can be chosen at launch and changed on its row; it applies at once, "
        "kernels untouched.",
    )
    default_budget_usd = Float(
        0,
        config=True,
        help="The budget (USD since launch) of a machine whose launch names none; at it the "
        "machine stops itself, even if busy. 0: none.",
    )
    ssh_from_cidr = Unicode(
        "",
        config=True,
        help="The address range allowed to SSH to machines; empty means this computer's "
        "public address (detected) as a /32.",
    )
    ssh_forward = Enum(
        ["auto", "openssh", "asyncssh"],
        default_value="auto",
        config=True,
        help="What carries kernel traffic through the tunnel: OpenSSH's client in its own "
        "process (`openssh`: the crypto runs off this server's event loop), asyncssh inside this "
        "server (`asyncssh`), or `auto`: OpenSSH's client when `ssh` is on PATH.",
    )
    sandbox_ssh_server = Enum(
        ["asyncssh", "openssh"],
        default_value="asyncssh",
        config=True,
        help="What plays the sandbox machines' sshd: an in-process asyncssh server (needs "
        "nothing installed) or OpenSSH's sshd (root only).",
    )

    workspace_size_limit = Int(
        DEFAULT_SIZE_LIMIT,
        config=True,
        help="Bytes of a notebook's folder mirrored to a machine at most (default 2 GiB, i.e. "
        "2147483648); past it the files that do not fit are left out and the user is told "
        "which.",
    )
    workspace_scope = Enum(
        ["folder", "git"],
        default_value="folder",
        config=True,
        help="What is mirrored to a machine for a notebook: its `folder`, or (`git`) the git "
        "repository that holds it (its folder when it is in none).",
    )

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "cloudlab")

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        # The server builds its kernel managers from these classes right after linking, so they
        # must be in its config now; explicit user configuration still wins.
        for trait, value in mixing_server_config().items():
            if trait not in serverapp.config.ServerApp:
                self.config.ServerApp[trait] = value
        super()._link_jupyter_server_extension(serverapp)
        # what a restarted server needs to find its machine kernels and
        # sessions again; set after super() so data_dir holds its configured value.
        persisted = persistence_server_config(DataFolder(Path(self.data_dir)).ensure())
        for section, values in persisted.items():
            for trait, value in values.items():
                if trait not in serverapp.config[section]:
                    serverapp.config[section][trait] = value

    @property
    def server(self) -> ServerApp:
        assert self.serverapp is not None, "used only once linked to a server"
        return self.serverapp

    @property
    def events(self) -> EventLogger:
        assert self.server.event_logger is not None
        return self.server.event_logger

    def initialize_settings(self) -> None:
        log_through_server(self.server.log)
        self.machine_servers = MachineServerRegistry()
        # Said in the status (the panel shows it) rather than silently losing to another package.
        kernel_classes = foreign_kernel_classes(self.server)
        self.settings["cloudlab_kernel_classes"] = kernel_classes
        attached = attach_machine_servers(self.server, self.machine_servers)
        if kernel_classes or not attached:
            self.log.warning("CloudLab: %s", kernel_classes or "machine kernels are off.")
        self.events.register_event_schema(MACHINE_EVENT_SCHEMA)
        self.events.register_event_schema(CONNECTION_EVENT_SCHEMA)
        self.events.register_event_schema(WORKSPACE_EVENT_SCHEMA)
        self.machine_servers.on_link_change(self._emit_connection)
        self.backend = CloudLabBackend(
            SessionOptions(
                mode=self.mode,
                region=self.region,
                regions=tuple(self.regions),
                profile=self.profile,
                endpoint_url=self.endpoint_url,
                data_folder=DataFolder(Path(self.data_dir)),
                remote_python=self.remote_python,
                wheelhouse=self.wheelhouse,
                machine_env_roots=tuple(self.machine_env_roots),
                ssh_from_cidr=self.ssh_from_cidr,
                sandbox_ssh_server=self.sandbox_ssh_server,
                ssh_forward=self.ssh_forward,
                machine_server=(
                    ("cull_idle_timeout", self.machine_cull_idle_timeout),
                    ("cull_busy", self.machine_cull_busy),
                    ("offline_buffer_bytes", self.machine_offline_buffer_mb * 1024 * 1024),
                    ("guard", (("idle_minutes", self.idle_minutes),)),
                ),
                default_idle_minutes=self.idle_minutes,
                default_budget_usd=self.default_budget_usd,
                local_root=str(self.server.root_dir),
                workspace_size_limit=self.workspace_size_limit,
                workspace_scope=self.workspace_scope,
            ),
            ServerHooks(
                machine_servers=self.machine_servers,
                list_kernelspecs=self._kernelspec_names,
                forget_kernels=self._forget_kernels,
                emit=self._emit,
                notify_workspace=self._emit_workspace,
            ),
        )
        self.settings["cloudlab_backend"] = self.backend

    def initialize_handlers(self) -> None:
        self.handlers.extend(api_routes())
        self.handlers.extend(machine_proxy_routes())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        self._start_task = asyncio.create_task(self.backend.start())

    async def stop_extension(self) -> None:
        """Detach from machines; never stop them (their kernels outlive this server)."""
        try:
            await asyncio.wait_for(self.backend.stop(), STOP_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            self.log.warning("CloudLab: stopping took over %s s; leaving", STOP_TIMEOUT_SECONDS)

    # ---- bridges between the orchestrator and the server's services -----------------------
    async def _kernelspec_names(self, machine_server: MachineServer) -> list[str]:
        """Asked of the machine itself, so `ready` means its machine server really answers."""
        listing = await MachineServerClient(machine_server).list_specs()
        return sorted(
            machine_kernel_name(machine_server.machine_id, name) for name in listing["kernelspecs"]
        )

    async def _forget_kernels(self, machine_id: str) -> None:
        forget = getattr(self.server.kernel_manager, "forget_machine", None)
        if forget is not None:
            forget(machine_id)

    def _emit_connection(self, status: LinkStatus) -> None:
        """A machine's tunnel changed (up, down, gone, detached)."""
        data = connection_status(
            self.machine_servers, self.server.kernel_manager, status.machine_id
        )
        data["since"] = status.since.isoformat()
        self.events.emit(schema_id=CONNECTION_EVENT_SCHEMA_ID, data=data)

    def _emit(self, machine: Machine) -> None:
        self.events.emit(
            schema_id=MACHINE_EVENT_SCHEMA_ID,
            data={
                "machine_id": machine.id,
                "name": machine.name,
                "state": machine.state.value,
                "message": machine.message,
            },
        )

    def _emit_workspace(self, notice: MirrorNotice) -> None:
        """What a machine's mirror tells the user (progress, conflicts, files left out)."""
        self.events.emit(
            schema_id=WORKSPACE_EVENT_SCHEMA_ID,
            data={
                "machine_id": notice.machine_id,
                "kind": notice.kind,
                "message": notice.message,
                "folder": notice.folder,
                "done_bytes": notice.done_bytes,
                "total_bytes": notice.total_bytes,
            },
        )
