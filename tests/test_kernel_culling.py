"""The local culler culls idle local kernels and never touches a machine's kernels."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_cloudlab.kernels.config import attach_gateways, mixing_server_config
from jupyter_cloudlab.kernels.gateways import Gateway, GatewayRegistry
from tests.kernel_helpers import RemoteServer, start_remote_server

MACHINE_ID = "m-cull"
WAIT = 120.0


@pytest.fixture
def remote_server(tmp_path: Path) -> Iterator[RemoteServer]:
    server = start_remote_server(tmp_path / "machine")
    yield server
    server.delete_all_kernels()
    server.stop()


@pytest.fixture
def jp_server_config() -> Config:
    culling = {"cull_idle_timeout": 1, "cull_interval": 1, "cull_connected": True}
    return Config(
        {
            "ServerApp": {**mixing_server_config(), "jpserver_extensions": {}},
            "MappingKernelManager": culling,
        }
    )


async def test_local_culler_spares_remote_kernels(
    jp_fetch: Any, jp_serverapp: Any, remote_server: RemoteServer
) -> None:
    # Given a local and a remote kernel, both idle, and a culler with a 1 s limit
    registry = GatewayRegistry()
    assert attach_gateways(jp_serverapp, registry)
    registry.add(Gateway(MACHINE_ID, "box", remote_server.url, remote_server.token, "t3"))
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

    # Then the remote kernel is still listed here and running on the machine
    remote_id = ids[f"cloudlab.{MACHINE_ID}.python3"]
    listed = json.loads((await jp_fetch("api", "kernels")).body)
    assert [k["id"] for k in listed] == [remote_id]
    assert [k["id"] for k in await remote_server.fetch("GET", "api/kernels")] == [remote_id]
