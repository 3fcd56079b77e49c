"""The local culler culls idle local kernels and never touches a machine's kernels; the machine's
own culler (its activity read by remote/cloudlab_activity.py) culls idle kernels, not busy ones."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_cloudlab.kernels.config import attach_machine_servers
from jupyter_cloudlab.kernels.machine_servers import MachineServer, MachineServerRegistry
from tests.helpers.machine_server import (
    MachineServerProcess,
    start_machine_server,
    start_machine_server_process,
)

MACHINE_ID = "m-cull"
WAIT = 120.0


@pytest.fixture
def remote_server(tmp_path: Path) -> Iterator[MachineServerProcess]:
    server = start_machine_server_process(tmp_path / "machine")
    yield server
    server.delete_all_kernels()
    server.stop()


@pytest.fixture
def jp_server_config(kernel_mixing_server_config: Config) -> Config:
    """The mixing server, with a culler that culls after 1 s idle, connected or not."""
    culling = {"cull_idle_timeout": 1, "cull_interval": 1, "cull_connected": True}
    kernel_mixing_server_config.merge(Config({"MappingKernelManager": culling}))
    return kernel_mixing_server_config


async def test_local_culler_spares_remote_kernels(
    jp_fetch: Any, jp_serverapp: Any, remote_server: MachineServerProcess
) -> None:
    # Given a local and a machine kernel, both idle, and a culler with a 1 s limit
    registry = MachineServerRegistry()
    assert attach_machine_servers(jp_serverapp, registry)
    registry.add(MachineServer(MACHINE_ID, "box", remote_server.url, remote_server.token, "t3"))
    jp_serverapp.kernel_manager.initialize_culler()
    ids = {}
    for name in ("python3", f"cloudlab.{MACHINE_ID}.python3"):
        reply = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))
        ids[name] = json.loads(reply.body)["id"]

    # When the culler has culled the local one (bounded wait)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while ids["python3"] in jp_serverapp.kernel_manager:
        assert loop.time() < deadline, "the local kernel was never culled"
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.5)  # two more culler passes

    # Then the machine kernel is still listed here and running on the machine
    remote_id = ids[f"cloudlab.{MACHINE_ID}.python3"]
    listed = json.loads((await jp_fetch("api", "kernels")).body)
    assert [k["id"] for k in listed] == [remote_id]
    assert [k["id"] for k in await remote_server.fetch("GET", "api/kernels")] == [remote_id]


@pytest.fixture
def culling_machine(tmp_path: Path) -> Iterator[MachineServerProcess]:
    """The machine's server as the bootstrap configures it, culling after 2 s idle."""
    server = start_machine_server(tmp_path / "machine", cull_idle_timeout=2, cull_interval=1)
    yield server
    server.delete_all_kernels()
    server.stop()


async def test_machine_culls_idle_kernels_and_spares_busy_ones(
    culling_machine: MachineServerProcess,
) -> None:
    machine = culling_machine
    # Given two kernels on the machine: one left idle, one running a long cell (its client gone)
    idle = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    busy = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    client = await machine.open_channel(busy["id"], "session-1")
    await client.execute("1")
    before = (await machine.fetch("GET", f"api/kernels/{busy['id']}"))["last_activity"]
    await client.send_execute("import time\ntime.sleep(15)\nprint('done')")
    states: list[str] = []

    async def busy_state() -> str:
        state = (await machine.fetch("GET", f"api/kernels/{busy['id']}"))["execution_state"]
        states.append(state)
        return str(state)

    while await busy_state() != "busy":
        assert len(states) < 100, f"the running cell never showed as busy: {states}"
        await asyncio.sleep(0.1)
    client.close()

    # When the culler has culled the idle one (2 s idle, checked every second)
    await until_culled(machine, idle["id"])

    # Then the busy one is still there, busy, and its activity was recorded
    now = await machine.fetch("GET", f"api/kernels/{busy['id']}")
    assert now["execution_state"] == "busy"
    assert now["last_activity"] > before
    # And once its cell is done it is seen idle, then culled in turn
    await until_culled(machine, busy["id"])


async def until_culled(machine: MachineServerProcess, kernel_id: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while kernel_id in [k["id"] for k in await machine.fetch("GET", "api/kernels")]:
        assert loop.time() < deadline, f"kernel {kernel_id} was never culled"
        await asyncio.sleep(0.2)
