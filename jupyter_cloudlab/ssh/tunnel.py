"""A forward that heals itself: a Unix socket of ours on this computer -> the machine's server.

The local end is a socket in a folder only this user can enter (local_socket.py), at one path for
the tunnel's whole life: while it heals, nobody else can listen there in its place (a loopback
port released meanwhile could be taken by any local user). The machine's end is the machine
server's own socket, in a folder private to the machine's user (or, for a server an earlier
version started and kernels still run on, its loopback port).

The supervisor reconnects while the machine is meant to run: each second while SSH does not answer
(a link that comes back is used at once), with capped backoff on any other failure. Each reconnect
asks `open_session` again, so the caller can re-read the address from EC2 (it changes after
stop/start) and re-run the idempotent bootstrap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

import asyncssh

from ..models import TunnelState
from .bootstrap import BootstrapResult, RemoteEnd
from .connection import SSHUnreachable
from .host_keys import HostKeyChanged
from .local_socket import private_folder, remove_folder

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 10.0
UNREACHABLE_RETRY_SECONDS = 1.0

OpenSession = Callable[[], Awaitable[tuple[asyncssh.SSHClientConnection, BootstrapResult]]]
StateListener = Callable[[TunnelState, BootstrapResult | None], None]


class Forward(Protocol):
    """A forward carried outside asyncssh (OpenSSH's client): its end, closing it."""

    async def wait_closed(self) -> None: ...

    def close(self) -> None: ...


# (control connection, where the machine server listens on the machine, the local socket path):
# a forward listening on that path once it returns.
StartForward = Callable[[asyncssh.SSHClientConnection, RemoteEnd, str], Awaitable[Forward]]


class MachineGone(Exception):
    """Raised by open_session when the machine no longer runs: the supervisor stops."""


class Tunnel:
    """Holds one SSH connection and one local forward.

    `state` (TunnelState): detached until opened and once closed, then up, down (reconnecting),
    gone (the machine no longer runs) or refused (its host key changed: retrying cannot help, so
    the supervisor stops; see `refusal`).
    """

    def __init__(
        self,
        open_session: OpenSession,
        on_state: StateListener,
        start_forward: StartForward | None = None,
        name: str = "machine",
    ) -> None:
        self._open_session = open_session
        self._on_state = on_state
        self._start_forward = start_forward
        """None: asyncssh forwards on its own connection."""
        self._connection: asyncssh.SSHClientConnection | None = None
        self._listener: asyncssh.SSHListener | None = None
        self._forward: Forward | None = None
        self._ending: list[Forward | asyncssh.SSHClientConnection] = []
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        self._name = name
        self._folder: Path | None = None
        self.socket_path: str | None = None
        """The local end: ``<private folder>/<name>.sock``, the same across reconnects."""
        self.state = TunnelState.detached
        self.state_since = time.monotonic()
        self.refusal: HostKeyChanged | None = None

    @property
    def connection(self) -> asyncssh.SSHClientConnection | None:
        return self._connection

    async def open(self) -> str:
        """Connect and forward once (errors propagate), then supervise in the background.
        Returns the local socket's path."""
        if self._folder is None:
            self._folder = await asyncio.to_thread(private_folder, f"{self._name}.sock")
            self.socket_path = str(self._folder / f"{self._name}.sock")
        try:
            await self._establish()
        except BaseException:
            await asyncio.to_thread(remove_folder, self._folder)
            self._folder = self.socket_path = None
            raise
        self._supervisor = asyncio.create_task(self._supervise())
        assert self.socket_path is not None
        return self.socket_path

    async def _establish(self) -> None:
        connection, bootstrapped = await self._open_session()
        assert self.socket_path is not None
        path = self.socket_path
        try:
            # What a dropped forward left there: gone, so only the new forward answers there.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            remote = bootstrapped.remote_end
            if self._start_forward is not None:
                self._forward = await self._start_forward(connection, remote, path)
            elif isinstance(remote, str):
                self._listener = await connection.forward_local_path(path, remote)
            else:
                self._listener = await connection.forward_local_path_to_port(
                    path, "127.0.0.1", remote
                )
            if self._listener is not None:
                os.chmod(path, 0o600)  # as OpenSSH's StreamLocalBindMask; the folder is 0700
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        self._set_state(TunnelState.up, bootstrapped)

    async def _supervise(self) -> None:
        while not self._closing:
            await self._wait_dropped()
            if self._closing:
                return
            await self._end_transport()
            self._set_state(TunnelState.down, None)
            delay = BACKOFF_FIRST_SECONDS
            while not self._closing:
                try:
                    await self._establish()
                    break
                except MachineGone:
                    self._set_state(TunnelState.gone, None)
                    return
                except HostKeyChanged as error:
                    self.refusal = error
                    self._set_state(TunnelState.refused, None)
                    return
                except SSHUnreachable as error:  # the link or sshd is down: cheap to retry
                    log.debug("The machine's SSH does not answer yet (%s)", error)
                    await asyncio.sleep(UNREACHABLE_RETRY_SECONDS)
                except Exception as error:  # any failure: try again while we should run
                    log.info("Reconnecting the tunnel failed (%s); retry in %.1f s", error, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    async def _wait_dropped(self) -> None:
        """Until the control connection or the forward ends (either one down: both go)."""
        assert self._connection is not None
        ends = [asyncio.ensure_future(self._connection.wait_closed())]
        if self._forward is not None:
            ends.append(asyncio.ensure_future(self._forward.wait_closed()))
        try:
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for end in ends:
                end.cancel()

    async def _end_transport(self) -> None:
        """Close the forward and the connection, and wait (briefly) until both are gone.

        What a cancelled call was waiting for (the supervisor cancelled by close() while it ended
        a dropped transport) stays in `_ending`, so the next call still waits for it: otherwise
        OpenSSH's forward process would outlive the tunnel unobserved.
        """
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        forward, self._forward = self._forward, None
        for transport in (forward, self._connection):
            if transport is not None:
                transport.close()
                if transport not in self._ending:
                    self._ending.append(transport)
        ending = list(self._ending)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*(t.wait_closed() for t in ending)), 5)
        self._ending = [t for t in self._ending if t not in ending]

    def _set_state(self, state: TunnelState, bootstrapped: BootstrapResult | None) -> None:
        self.state = state
        self.state_since = time.monotonic()
        self._on_state(state, bootstrapped)

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
        try:
            if self._supervisor is not None:
                self._supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._supervisor
            await self._end_transport()
            self.state = TunnelState.detached
        finally:
            # Even when the close is cut short (the server stopping): nothing listens there any
            # more that anyone may use; a forward process still ending is unlinked from it.
            if self._folder is not None:
                remove_folder(self._folder)
