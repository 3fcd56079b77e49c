"""The supervised tunnel against real sshd: heals on the same local port, binds loopback only;
and closing it waits for a forward process that is still ending."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import asyncssh
import pytest

from jupyter_cloudlab.ssh.bootstrap import BootstrapOptions, BootstrapResult, bootstrap
from jupyter_cloudlab.ssh.tunnel import Tunnel
from tests.helpers.ssh_machines import Rig, get_json, rig

HEAL_TIMEOUT_S = 60.0


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP listener on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port and len(address) == width:
                raw = bytes.fromhex(address)
                if width == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


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


async def test_tunnel_heals_after_sshd_restart_on_the_same_local_port(tmp_path: Path) -> None:
    async with rig(tmp_path) as machine:
        states: list[str] = []
        tokens: list[str] = []

        def on_state(state: str, machine_server: BootstrapResult | None) -> None:
            states.append(state)
            if machine_server is not None:
                tokens.append(machine_server.token)

        tunnel = Tunnel(_session(machine), on_state)
        try:
            # Given an open tunnel to the machine's server
            port = await tunnel.open()
            assert states == ["up"]
            assert await asyncio.to_thread(get_json, port, "/api/status", tokens[-1])
            # Then the forward listens on loopback only
            assert listening_addresses(port) == {"127.0.0.1"}
            first_address = machine.powered

            # When sshd (and everything on the machine) is killed and started again
            await machine.host.power_off(machine.instance_id)
            await _wait_for(states, 2, "down")
            await asyncio.sleep(0.5)  # a few failed reconnects while it is off
            await machine.power_on()

            # Then the tunnel comes back by itself, on the same local port, to the new address
            await _wait_for(states, 3, "up")
            assert tunnel.local_port == port and machine.powered != first_address
            status = await asyncio.to_thread(get_json, port, "/api/status", tokens[-1])
            assert "started" in status
            assert listening_addresses(port) == {"127.0.0.1"}
        finally:
            await tunnel.close()
        assert tunnel.state == "detached"
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)


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

    local_port = 1

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
        return connection, BootstrapResult(port=2, token="t")

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
