"""The supervised tunnel against real sshd: heals on the same local socket, which no other local
user can reach or take, even while it heals; and closing it waits for a forward process that is
still ending."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import asyncssh
import pytest

from jupyter_cloudlab.ssh.bootstrap import BootstrapOptions, BootstrapResult, bootstrap
from jupyter_cloudlab.ssh.tunnel import Tunnel
from tests.helpers.host_processes import tcp_listeners, unix_listeners
from tests.helpers.ssh_machines import REFUSED, Rig, another_user_tries, get_json, rig

HEAL_TIMEOUT_S = 60.0


def _session(machine: Rig):
    async def open_session() -> tuple[asyncssh.SSHClientConnection, BootstrapResult]:
        connection = await machine.connect()  # the address is re-read: it changes on start
        try:
            return connection, await bootstrap(connection, BootstrapOptions(env_roots=()))
        except BaseException:
            connection.close()
            raise

    return open_session


async def _wait_for(states: list[str], count: int, wanted: str) -> None:
    deadline = asyncio.get_running_loop().time() + HEAL_TIMEOUT_S
    while not (len(states) >= count and states[-1] == wanted):
        assert asyncio.get_running_loop().time() < deadline, states
        await asyncio.sleep(0.05)


async def test_tunnel_heals_on_the_same_socket_that_no_other_user_can_reach_or_take(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as machine:
        states: list[str] = []
        tokens: list[str] = []

        def on_state(state: str, machine_server: BootstrapResult | None) -> None:
            states.append(state)
            if machine_server is not None:
                tokens.append(machine_server.token)

        listening_before = tcp_listeners(os.getpid())
        tunnel = Tunnel(_session(machine), on_state, name=machine.instance_id)
        try:
            # Given an open tunnel to the machine's server
            path = await tunnel.open()
            assert states == ["up"]
            assert await asyncio.to_thread(get_json, path, "/api/status", tokens[-1])

            # Then its local end is a socket (0600) in a folder of ours that no one else may
            # enter (0700), and no TCP port: nothing of it is on a port another user can take
            folder = Path(path).parent
            assert stat.S_IMODE(folder.lstat().st_mode) == 0o700
            assert folder.lstat().st_uid == os.geteuid() and not folder.is_symlink()
            assert stat.S_ISSOCK(os.lstat(path).st_mode)
            assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
            assert path in unix_listeners(os.getpid())
            assert tcp_listeners(os.getpid()) == listening_before
            # And another local user can neither connect to it nor put anything in its place
            assert another_user_tries(path) == REFUSED
            first_address = machine.powered

            # When sshd (and everything on the machine) is killed and started again
            await machine.host.power_off(machine.instance_id)
            await _wait_for(states, 2, "down")
            await asyncio.sleep(0.5)  # a few failed reconnects while it is off

            # Then while it heals the path stays out of every other user's reach: there is no
            # moment when another user could listen there in the tunnel's place
            assert another_user_tries(path) == REFUSED
            await machine.power_on()

            # Then the tunnel comes back by itself, at the same path, to the new address
            await _wait_for(states, 3, "up")
            assert tunnel.socket_path == path and machine.powered != first_address
            status = await asyncio.to_thread(get_json, path, "/api/status", tokens[-1])
            assert "started" in status
            assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
            assert tcp_listeners(os.getpid()) == listening_before
            assert another_user_tries(path) == REFUSED
        finally:
            await tunnel.close()
        # And closing it removes its folder
        assert tunnel.state == "detached"
        assert not folder.exists()
        with pytest.raises(OSError):
            await asyncio.open_unix_connection(path)


class _Connection:
    """The control connection's surface the tunnel uses: close and wait_closed."""

    def __init__(self) -> None:
        self._closed = asyncio.Event()

    def close(self) -> None:
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()


class _SlowForward:
    """A forward process that takes a moment to end once closed, as ssh after SIGTERM does."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()

    def close(self) -> None:
        asyncio.get_running_loop().call_later(0.5, self.ended.set)

    async def wait_closed(self) -> None:
        await self.ended.wait()


async def test_closing_while_a_dropped_forward_ends_still_waits_for_it() -> None:
    # Given a tunnel whose forward is a separate process (as OpenSSH's client is)
    connection, forward, sessions = _Connection(), _SlowForward(), 0

    async def open_session():
        nonlocal sessions
        sessions += 1
        if sessions > 1:  # the machine is gone: reconnecting never succeeds
            await asyncio.Event().wait()
        return connection, BootstrapResult(token="t", socket="/m/gateway.sock")

    async def start_forward(*_: object) -> _SlowForward:
        return forward

    tunnel = Tunnel(open_session, lambda *_: None, start_forward)
    await tunnel.open()

    # When the connection drops (the supervisor starts ending the forward) and the tunnel is
    # closed before the forward's process has ended
    connection.close()
    await asyncio.sleep(0.1)
    assert not forward.ended.is_set()
    await tunnel.close()

    # Then close() returned only once the forward's process had ended: nothing outlives it
    assert forward.ended.is_set()
