"""Builds an account session: picks AWS or the sandbox, lays out its files, makes its clients,
its orchestrator, and reconciles with the cloud. The only place that knows how they fit."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from ..cloud.account import credentials_found, home_region
from ..cloud.aws_client import PRICING_REGION, AwsClient, AwsTarget
from ..cloud.caller_address import public_cidr
from ..cloud.network import Ec2Network, MachineNetwork
from ..cloud.regions import RegionClients
from ..data_folder import AccountFiles
from ..errors import CloudLabError, ErrorKind
from ..machines.guard import GuardDefaults, GuardDesk
from ..machines.launch_idle_limits import LaunchIdleLimits
from ..machines.link import LinkContext
from ..machines.meter_service import Meter
from ..machines.orchestrator import MachineOrchestrator
from ..machines.store import MachineStore
from ..machines.workspaces import Workspaces
from ..models import Status
from ..sandbox import INSTALL_COMMAND, sandbox_installed
from ..sandbox.ec2_endpoint import SANDBOX_REGION
from ..sandbox.power_button import guard_settings
from ..ssh.bootstrap import BootstrapOptions
from ..ssh.client_key import load_or_create_client_key
from ..ssh.host_keys import HostKeyStore
from ..ssh.openssh_forward import OpenSSHForwarding, openssh_client
from ..workspace.mirror import MirrorSettings
from .account_session import AccountSession
from .options import ServerHooks, SessionOptions
from .server_logs import ServerLogs

if TYPE_CHECKING:
    from ..sandbox.sandbox import Sandbox

NO_CREDENTIALS = (
    "No AWS credentials were found, so machines run in the local sandbox: a simulated "
    "EC2 on this computer. Configure AWS credentials to launch real machines."
)
NO_CREDENTIALS_NO_SANDBOX = (
    "No AWS credentials were found and the local sandbox is not installed: configure AWS "
    "credentials (a profile, or `aws sso login`) to launch real machines, or run "
    f"`{INSTALL_COMMAND}` and restart JupyterLab to try CloudLab on a simulated EC2."
)
SANDBOX_MISSING = (
    f"The mode is 'sandbox' but the sandbox is not installed: run `{INSTALL_COMMAND}` and "
    "restart JupyterLab."
)


def choose_mode(options: SessionOptions) -> tuple[str, str]:
    """'aws' or 'sandbox', and the sentence the panel shows about it."""
    if options.mode != "auto":
        return options.mode, f"Mode set to {options.mode} in the configuration."
    if credentials_found(options.profile):
        return "aws", "Using your AWS credentials."
    return "sandbox", NO_CREDENTIALS if sandbox_installed() else NO_CREDENTIALS_NO_SANDBOX


def sandbox_status(options: SessionOptions, message: str) -> Status:
    """The sandbox's status; it says when the settings name a region it does not simulate."""
    region = options.region
    if region and region != SANDBOX_REGION:
        message += (
            f" The sandbox simulates {SANDBOX_REGION} only: your region, {region}, applies "
            "once AWS credentials are found."
        )
    return with_launch_defaults(
        Status(mode="sandbox", region=SANDBOX_REGION, message=message), options
    )


def with_launch_defaults(status: Status, options: SessionOptions) -> Status:
    """The status with the idle limit and budget of a launch that names none (the panel's
    form starts from them)."""
    return status.model_copy(
        update={
            "default_idle_minutes": options.default_idle_minutes,
            "default_budget_usd": options.default_budget_usd,
        }
    )


async def open_session(options: SessionOptions, hooks: ServerHooks) -> AccountSession:
    """A new session for `options`; a failure leaves nothing running behind."""
    # boto3's credential chain may probe the instance metadata service (seconds): off the loop.
    mode, message = await asyncio.to_thread(choose_mode, options)
    sandbox: Sandbox | None = None
    orchestrator: MachineOrchestrator | None = None
    try:
        if mode == "sandbox":
            sandbox = _new_sandbox(options)
            target = await sandbox.start()
            assert sandbox.network is not None
            network: MachineNetwork = sandbox.network
            status = sandbox_status(options, message)
        else:
            region = await asyncio.to_thread(home_region, options.profile, options.region)
            target = AwsTarget(region, options.profile, options.endpoint_url)
            network = Ec2Network(AwsClient(target))
            status = with_launch_defaults(
                Status(mode=mode, region=region, profile=options.profile, message=message),
                options,
            )
        ec2, ssm = AwsClient(target), AwsClient(target, "ssm")
        pricing = None if sandbox else AwsClient(target, "pricing", PRICING_REGION)
        files = options.data_folder.account(sandbox=sandbox is not None)
        workspaces = _workspaces(options, hooks)
        guards = GuardDesk(
            GuardDefaults(options.default_idle_minutes, options.default_budget_usd),
            LaunchIdleLimits(files.launch_idle_limits),
        )
        context = _link_context(options, files, ec2, network, in_sandbox=sandbox is not None)
        orchestrator = MachineOrchestrator(
            dataclasses.replace(context, workspaces=workspaces, guards=guards),
            store=MachineStore(files.machines),
            machine_servers=hooks.machine_servers,
            list_kernelspecs=hooks.list_kernelspecs,
            forget_kernels=hooks.forget_kernels,
            emit=hooks.emit,
            # Sandbox machines answer on loopback; AWS ones from this computer's address.
            ssh_from_cidr=options.ssh_from_cidr or ("127.0.0.1/32" if sandbox else ""),
            detect_cidr=public_cidr,
            regions=() if sandbox else options.regions,
            meter=Meter(files.meter, RegionClients(ec2).get, pricing),
        )
        await orchestrator.reconcile()
    except BaseException:
        if orchestrator is not None:
            await orchestrator.close()
        if sandbox is not None:
            await sandbox.stop()
        raise
    return AccountSession(
        options,
        status,
        ec2,
        ssm,
        pricing,
        orchestrator,
        sandbox,
        workspaces=workspaces,
        guards=guards,
        server_logs=ServerLogs(context),
    )


def _new_sandbox(options: SessionOptions) -> Sandbox:
    """The sandbox, imported only now: its moto server comes with the `sandbox` extra."""
    if not sandbox_installed():
        raise CloudLabError(
            NO_CREDENTIALS_NO_SANDBOX if options.mode == "auto" else SANDBOX_MISSING,
            ErrorKind.unavailable,
        )
    from ..sandbox.sandbox import Sandbox

    return Sandbox(options.data_folder, options.sandbox_ssh_server)


def _workspaces(options: SessionOptions, hooks: ServerHooks) -> Workspaces | None:
    if not options.local_root:
        return None
    settings = MirrorSettings(
        size_limit=options.workspace_size_limit,
        scope="git" if options.workspace_scope == "git" else "folder",
    )
    return Workspaces(Path(options.local_root), settings, hooks.notify_workspace)


def _link_context(
    options: SessionOptions,
    files: AccountFiles,
    ec2: AwsClient,
    network: MachineNetwork,
    in_sandbox: bool,
) -> LinkContext:
    key_file = options.data_folder.client_key
    return LinkContext(
        ec2=ec2,
        network=network,
        client_key=load_or_create_client_key(key_file),
        # Sandbox machines are throwaway: their host keys must not mix with real ones.
        host_keys=HostKeyStore(files.host_keys),
        remote_python=options.remote_python,
        bootstrap=BootstrapOptions(
            python=options.remote_python,
            env_roots=options.machine_env_roots,
            wheelhouse=Path(options.wheelhouse) if options.wheelhouse else None,
            # Sandbox machines share this computer: never install a system service here.
            service="setsid" if in_sandbox else "auto",
            server_settings=_sandboxed(options.machine_server)
            if in_sandbox
            else options.machine_server,
        ),
        openssh_forward=_openssh_forwarding(options, key_file, files),
    )


def _sandboxed(settings: tuple[tuple[str, object], ...]) -> tuple[tuple[str, object], ...]:
    """A sandbox machine's guard powers off through the sandbox's power button, never this host."""
    found = dict(settings)
    guard = {**dict(found.get("guard") or ()), **guard_settings()}  # type: ignore[call-overload]
    return (*((k, v) for k, v in settings if k != "guard"), ("guard", tuple(guard.items())))


def _openssh_forwarding(
    options: SessionOptions, key_file: Path, files: AccountFiles
) -> OpenSSHForwarding | None:
    choice, ssh = options.ssh_forward, openssh_client()
    if choice == "asyncssh" or (choice == "auto" and ssh is None):
        return None
    if ssh is None:
        raise CloudLabError(
            "c.CloudLab.ssh_forward is 'openssh' but no `ssh` client is on PATH: install "
            "OpenSSH's client, or set it to 'auto'."
        )
    return OpenSSHForwarding(ssh, key_file, files.forward_known_hosts)
