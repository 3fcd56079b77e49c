"""The live link to one running machine: SSH (retried while it boots), bootstrap, tunnel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

from ..cloud import instances
from ..cloud.aws_client import AwsClient
from ..cloud.network import MachineNetwork
from ..ssh.bootstrap import RemoteGateway, bootstrap
from ..ssh.connection import SSHTarget, SSHUnreachable, connect
from ..ssh.host_keys import HostKeyStore
from ..ssh.tunnel import MachineGone, StateListener, Tunnel

SSH_READY_TIMEOUT_SECONDS = 300  # sshd on a fresh EC2 instance answers within a minute or two
SSH_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class LinkContext:
    """What every link needs, shared by all machines."""

    ec2: AwsClient
    network: MachineNetwork
    client_key: asyncssh.SSHKey
    host_keys: HostKeyStore
    remote_python: str


class MachineLink:
    def __init__(
        self,
        context: LinkContext,
        instance_id: str,
        on_phase: Callable[[str], None],
        on_tunnel_state: StateListener,
    ) -> None:
        self._context = context
        self._instance_id = instance_id
        self._on_phase = on_phase
        self.address: str | None = None
        self._tunnel = Tunnel(self._open_session, on_tunnel_state)

    @property
    def tunnel_state(self) -> str:
        return self._tunnel.state

    @property
    def local_port(self) -> int | None:
        return self._tunnel.local_port

    async def open(self) -> int:
        """Connect, bootstrap and forward; returns the local port of the gateway."""
        return await self._tunnel.open()

    async def close(self) -> None:
        await self._tunnel.close()

    async def _open_session(self) -> tuple[asyncssh.SSHClientConnection, RemoteGateway]:
        self._on_phase("connecting")
        connection = await self._connect_when_ready()
        self._on_phase("bootstrapping")
        try:
            gateway = await bootstrap(connection, self._context.remote_python)
        except BaseException:
            connection.close()
            raise
        return connection, gateway

    async def _connect_when_ready(self) -> asyncssh.SSHClientConnection:
        deadline = time.monotonic() + SSH_READY_TIMEOUT_SECONDS
        while True:
            # The address is re-read each time: it changes after stop/start.
            info = await instances.describe(self._context.ec2, self._instance_id)
            if info.state not in ("pending", "running"):
                raise MachineGone(f"{self._instance_id} is {info.state}")
            host, port = await self._context.network.ssh_endpoint(info)
            self.address = f"{host}:{port}"
            console = await self._context.network.console_output(self._instance_id)
            target = SSHTarget(self._instance_id, host, port, info.ssh_user)
            try:
                return await connect(
                    target, self._context.client_key, self._context.host_keys, console
                )
            except SSHUnreachable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(SSH_RETRY_SECONDS)
