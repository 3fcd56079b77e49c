"""A port forward that heals itself: 127.0.0.1:<same local port> -> the machine's gateway.

The supervisor reconnects while the machine is meant to run: each second while SSH does not answer
(a link that comes back is used at once), with capped backoff on any other failure. Each reconnect
asks `open_session` again, so the caller can re-read the address from EC2 (it changes after
stop/start) and re-run the idempotent bootstrap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import asyncssh

from .bootstrap import RemoteGateway
from .connection import SSHUnreachable
from .host_keys import HostKeyChanged

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 10.0
UNREACHABLE_RETRY_SECONDS = 1.0

OpenSession = Callable[[], Awaitable[tuple[asyncssh.SSHClientConnection, RemoteGateway]]]
StateListener = Callable[[str, RemoteGateway | None], None]


class MachineGone(Exception):
    """Raised by open_session when the machine no longer runs: the supervisor stops."""


class Tunnel:
    """Holds one SSH connection and one local forward.

    `state` is "up", "down" (reconnecting), "gone" (the machine no longer runs) or "refused"
    (its host key changed: retrying cannot help, so the supervisor stops; see `refusal`).
    """

    def __init__(self, open_session: OpenSession, on_state: StateListener) -> None:
        self._open_session = open_session
        self._on_state = on_state
        self._connection: asyncssh.SSHClientConnection | None = None
        self._listener: asyncssh.SSHListener | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        self.local_port: int | None = None
        self.state = "down"
        self.state_since = time.monotonic()
        self.refusal: HostKeyChanged | None = None

    @property
    def connection(self) -> asyncssh.SSHClientConnection | None:
        return self._connection

    async def open(self) -> int:
        """Connect and forward once (errors propagate), then supervise in the background."""
        await self._establish()
        self._supervisor = asyncio.create_task(self._supervise())
        assert self.local_port is not None
        return self.local_port

    async def _establish(self) -> None:
        connection, gateway = await self._open_session()
        try:
            listener = await connection.forward_local_port(
                "127.0.0.1", self.local_port or 0, "127.0.0.1", gateway.port
            )
        except BaseException:
            connection.close()
            raise
        self._connection, self._listener = connection, listener
        self.local_port = listener.get_port()
        self._set_state("up", gateway)

    async def _supervise(self) -> None:
        while not self._closing:
            assert self._connection is not None
            await self._connection.wait_closed()
            if self._closing:
                return
            if self._listener is not None:
                self._listener.close()
            self._set_state("down", None)
            delay = BACKOFF_FIRST_SECONDS
            while not self._closing:
                try:
                    await self._establish()
                    break
                except MachineGone:
                    self._set_state("gone", None)
                    return
                except HostKeyChanged as error:
                    self.refusal = error
                    self._set_state("refused", None)
                    return
                except SSHUnreachable as error:  # the link or sshd is down: cheap to retry
                    log.debug("The machine's SSH does not answer yet (%s)", error)
                    await asyncio.sleep(UNREACHABLE_RETRY_SECONDS)
                except Exception as error:  # any failure: try again while we should run
                    log.info("Reconnecting the tunnel failed (%s); retry in %.1f s", error, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    def _set_state(self, state: str, gateway: RemoteGateway | None) -> None:
        self.state = state
        self.state_since = time.monotonic()
        self._on_state(state, gateway)

    def stop_healing(self) -> None:
        """No more reconnecting (the machine is about to go down on purpose)."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()

    async def wait_dropped(self) -> None:
        """Returns when the current connection closes from the far end."""
        if self._connection is not None:
            await self._connection.wait_closed()

    async def close(self) -> None:
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._listener is not None:
            self._listener.close()
        if self._connection is not None:
            self._connection.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.wait_closed(), 5)
        self.state = "down"
