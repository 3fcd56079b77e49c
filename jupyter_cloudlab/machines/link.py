"""The live link to one running machine: SSH (retried while it boots), bootstrap, tunnel."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from ..cloud import instances
from ..cloud.aws_client import AwsClient
from ..cloud.network import MachineNetwork
from ..models import TunnelState
from ..ssh.bootstrap import BootstrapOptions, BootstrapResult, bootstrap, fetch_server_log
from ..ssh.connection import SSHTarget, SSHUnreachable, connect
from ..ssh.host_keys import HostKeyStore, HostKeyUnverified, console_fingerprints
from ..ssh.openssh_forward import OpenSSHForwarding
from ..ssh.tunnel import MachineGone, StateListener, Tunnel
from .guard import GuardDesk
from .store import MachineStore
from .workspaces import Workspaces

log = logging.getLogger(__name__)

SSH_READY_TIMEOUT_SECONDS = 300  # sshd on a fresh EC2 instance answers within a minute or two
SSH_RETRY_SECONDS = 1.0
DESCRIBE_EVERY_SECONDS = 15.0
# Until a host key is pinned for the instance, a first connection waits for its console to show
# cloud-init's fingerprint block (on EC2 within a couple of minutes of boot), reading it every
# few seconds; past the bound it is refused rather than trusting whatever key answers.
CONSOLE_FINGERPRINTS_WAIT_SECONDS = 360.0
CONSOLE_READ_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class LinkContext:
    """What every link needs, shared by all machines."""

    ec2: AwsClient
    network: MachineNetwork
    client_key: asyncssh.SSHKey
    host_keys: HostKeyStore
    remote_python: str
    bootstrap: BootstrapOptions | None = None
    """Bootstrap options; None means the defaults with `remote_python`."""
    openssh_forward: OpenSSHForwarding | None = None
    """Carry the kernel traffic in OpenSSH's client; None: in asyncssh."""
    workspaces: Workspaces | None = None
    """The notebooks' folders mirrored to machines; None: no mirror (the CLI)."""
    guards: GuardDesk | None = None
    """Where the session reaches the machines' guards; None: the connector keeps its own."""

    def bootstrap_options(self) -> BootstrapOptions:
        return self.bootstrap or BootstrapOptions(python=self.remote_python)


class MachineLink:
    def __init__(
        self,
        context: LinkContext,
        instance_id: str,
        on_phase: Callable[[str], None],
        on_tunnel_state: StateListener,
        console_wait_seconds: float = CONSOLE_FINGERPRINTS_WAIT_SECONDS,
        console_read_every_seconds: float = CONSOLE_READ_EVERY_SECONDS,
    ) -> None:
        self._context = context
        self._instance_id = instance_id
        self._on_phase = on_phase
        self._console_wait_seconds = console_wait_seconds
        self._console_read_every_seconds = console_read_every_seconds
        self.address: str | None = None
        self.bootstrapped: BootstrapResult | None = None
        self.timings: dict[str, float] = {}
        """Seconds of the last session's phases: connect, check, install, start."""
        self._sftp: asyncssh.SFTPClient | None = None
        self._sftp_connection: asyncssh.SSHClientConnection | None = None
        self._sftp_opening = asyncio.Lock()
        forwarding = context.openssh_forward
        self._tunnel = Tunnel(
            self._open_session,
            on_tunnel_state,
            forwarding.starter(instance_id) if forwarding else None,
            name=instance_id,
        )

    @property
    def tunnel_state(self) -> TunnelState:
        return self._tunnel.state

    @property
    def refusal(self) -> Exception | None:
        """Why the tunnel stopped for good (a changed host key), if it did."""
        return self._tunnel.refusal

    @property
    def socket_path(self) -> str | None:
        """The local end of the tunnel: a Unix socket only this user can reach."""
        return self._tunnel.socket_path

    async def open(self) -> str:
        """Connect, bootstrap and forward; returns the path of the tunnel's local socket."""
        return await self._tunnel.open()

    async def close(self) -> None:
        await self._tunnel.close()

    async def sftp(self) -> asyncssh.SFTPClient:
        """An SFTP session on the link's current SSH connection (the workspace mirror's
        transport); a new one once the tunnel healed on a new connection. Raises
        ConnectionError while the link is down."""
        async with self._sftp_opening:
            connection = self._tunnel.connection
            if connection is None or self._tunnel.state is not TunnelState.up:
                raise ConnectionError("the link to the machine is down (reconnecting)")
            if self._sftp is None or self._sftp_connection is not connection:
                self._sftp = await connection.start_sftp_client()
                self._sftp_connection = connection
            return self._sftp

    async def shell(self) -> asyncssh.SSHClientConnection:
        """The link's current SSH connection, for a command (the mirror's archives of small
        files). Raises ConnectionError while the link is down."""
        connection = self._tunnel.connection
        if connection is None or self._tunnel.state is not TunnelState.up:
            raise ConnectionError("the link to the machine is down (reconnecting)")
        return connection

    def stop_healing(self) -> None:
        self._tunnel.stop_healing()

    async def wait_dropped(self) -> None:
        """Returns once the SSH session drops (the machine went down)."""
        await self._tunnel.wait_dropped()

    async def _open_session(self) -> tuple[asyncssh.SSHClientConnection, BootstrapResult]:
        self._on_phase("connecting")
        started = time.monotonic()
        connection = await self._connect_when_ready()
        connected = time.monotonic()
        self._on_phase("bootstrapping")
        try:
            bootstrapped = await bootstrap(connection, self._context.bootstrap_options())
        except BaseException:
            connection.close()
            raise
        self.bootstrapped = bootstrapped
        if bootstrapped.outdated:
            log.info(
                "%s: its server keeps its older code or settings while kernels run on it; the "
                "new ones apply when it is next found without kernels",
                self._instance_id,
            )
        self.timings = {
            "connect": connected - started,
            "bootstrap": time.monotonic() - connected,
            **bootstrapped.phases,
        }
        return connection, bootstrapped

    async def _connect_when_ready(self) -> asyncssh.SSHClientConnection:
        deadline = time.monotonic() + SSH_READY_TIMEOUT_SECONDS
        described_at = -float("inf")
        while True:
            # The address is re-read from EC2 (it changes after stop/start), but not at every
            # try: a long outage retries each second and must not flood the API.
            if time.monotonic() - described_at > DESCRIBE_EVERY_SECONDS:
                info = await self._describe_running()
                host, port = await self._context.network.ssh_endpoint(info)
                self.address = f"{host}:{port}"
                waiting_since = time.monotonic()
                console = await self._console_to_trust()
                deadline += time.monotonic() - waiting_since  # SSH's time starts after it
                target = SSHTarget(self._instance_id, host, port, info.ssh_user)
                described_at = time.monotonic()
            try:
                return await connect(
                    target, self._context.client_key, self._context.host_keys, console
                )
            except SSHUnreachable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(SSH_RETRY_SECONDS)

    async def _describe_running(self) -> instances.InstanceInfo:
        info = await instances.describe(self._context.ec2, self._instance_id)
        if info.state not in ("pending", "running"):
            raise MachineGone(f"{self._instance_id} is {info.state}")
        return info

    async def _console_to_trust(self) -> str:
        """The console output; while no host key is pinned, one that shows its fingerprints.

        Re-read every few seconds (the instance's state less often) until cloud-init's block
        appears; past the bound the connection is refused (HostKeyUnverified says what to do).
        """
        network, host_keys = self._context.network, self._context.host_keys

        def vouched(console: str) -> bool:
            return host_keys.knows(self._instance_id) or bool(console_fingerprints(console))

        give_up = time.monotonic() + self._console_wait_seconds
        described_at = time.monotonic()
        console = await network.console_output(self._instance_id)
        if not vouched(console):
            log.info("%s: waiting for its console to show its host keys", self._instance_id)
        while not vouched(console):
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                raise HostKeyUnverified(self._instance_id, self._console_wait_seconds)
            await asyncio.sleep(min(self._console_read_every_seconds, remaining))
            if time.monotonic() - described_at > DESCRIBE_EVERY_SECONDS:
                await self._describe_running()
                described_at = time.monotonic()
            console = await network.console_output(self._instance_id)
        return console


class StoredAddressNetwork:
    """Where SSH answered last, from the server's machine cache (sandbox machines: loopback
    ports that only the server's hypervisor knows). Host keys are pinned by then."""

    def __init__(self, store_file: Path) -> None:
        self._store = MachineStore(store_file)

    async def ssh_endpoint(self, instance: instances.InstanceInfo) -> tuple[str, int]:
        for machine in self._store.load():
            if machine.instance_id == instance.instance_id and machine.address:
                host, _, port = machine.address.rpartition(":")
                return host, int(port)
        raise MachineGone(f"{instance.instance_id} has no known SSH address: is it ready?")

    async def console_output(self, instance_id: str) -> str:
        return ""


async def connect_running(
    ec2: AwsClient,
    network: MachineNetwork,
    client_key: asyncssh.SSHKey,
    host_keys: HostKeyStore,
    instance_id: str,
) -> asyncssh.SSHClientConnection:
    """An SSH connection to a running machine, outside any link (the CLI); its host key checked
    as for every connection."""
    info = await instances.describe(ec2, instance_id)
    if info.state != "running":
        raise MachineGone(f"{instance_id} is {info.state}: start it first.")
    host, port = await network.ssh_endpoint(info)
    console = await network.console_output(instance_id)
    if not host_keys.knows(instance_id) and not console_fingerprints(console):
        raise HostKeyUnverified(instance_id)  # never pin a first key blindly
    target = SSHTarget(instance_id, host, port, info.ssh_user)
    return await connect(target, client_key, host_keys, console)


async def read_server_log(
    ec2: AwsClient,
    network: MachineNetwork,
    client_key: asyncssh.SSHKey,
    host_keys: HostKeyStore,
    instance_id: str,
    lines: int = 200,
) -> str:
    """The machine's server log over SSH."""
    connection = await connect_running(ec2, network, client_key, host_keys, instance_id)
    try:
        return await fetch_server_log(connection, lines)
    finally:
        connection.close()
