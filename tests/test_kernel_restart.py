"""The local server restarts (cleanly or killed) while a machine's kernel runs: the kernel is never
deleted, comes back with its state, and so does the notebook's session.

"The machine" is a standalone jupyter_server; the local server is a real process (so it can be
SIGKILLed) running our kernel classes, with the remote-kernel map and the session database in a
data dir, and a stand-in for the orchestrator that registers the machine's server at each start.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.data_folder import DataFolder
from jupyter_cloudlab.kernels.config import mixing_server_config, persistence_server_config
from jupyter_cloudlab.kernels.kernel_map import load_kernel_map
from jupyter_cloudlab.kernels.machine_servers import MachineServer, MachineServerRegistry
from jupyter_cloudlab.kernels.manager import CloudLabKernelManager
from tests.helpers.machine_server import MachineServerProcess, start_machine_server_process
from tests.helpers.orchestrator_stand_in import MACHINE_SERVER_ENV

MACHINE_ID = "m-restart"
REMOTE_PYTHON = f"cloudlab.{MACHINE_ID}.python3"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[MachineServerProcess]:
    server = start_machine_server_process(tmp_path / "machine")
    yield server
    server.delete_all_kernels()
    server.stop()


def start_local(root: Path, data_dir: Path, machine: MachineServerProcess) -> MachineServerProcess:
    machine_server = {
        "machine_id": MACHINE_ID,
        "machine_name": "trainer",
        "base_url": machine.url,
        "token": machine.token,
        "label": "t3.medium",
    }
    config: dict[str, Any] = {
        "ServerApp": {
            **mixing_server_config(),
            "jpserver_extensions": {"tests.helpers.orchestrator_stand_in": True},
        },
        **persistence_server_config(DataFolder(data_dir)),
    }
    env = {MACHINE_SERVER_ENV: json.dumps(machine_server), "PYTHONPATH": str(REPO)}
    return start_machine_server_process(root, config=config, env=env)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "clean"])
async def test_remote_kernel_and_session_survive_a_local_restart(
    tmp_path: Path, machine: MachineServerProcess, how: signal.Signals
) -> None:
    # Given a notebook session on a machine's kernel, with a variable set
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    local = start_local(tmp_path / "local-1", data_dir, machine)
    try:
        session = await local.fetch(
            "POST",
            "api/sessions",
            {
                "path": "a.ipynb",
                "type": "notebook",
                "name": "a.ipynb",
                "kernel": {"name": REMOTE_PYTHON},
            },
        )
        kernel_id = session["kernel"]["id"]
        channel = await local.open_channel(kernel_id, secrets.token_hex(8))
        result = await channel.execute("x = 6 * 7")
        assert result.reply["status"] == "ok"
        channel.close()
    finally:
        # When the local server stops: killed, or cleanly
        os.kill(local.process.pid, how)
        local.process.wait(timeout=60)

    # Then the machine still runs the kernel (nothing deleted it)
    assert [k["id"] for k in await machine.fetch("GET", "api/kernels")] == [kernel_id]

    # When it starts again
    local = start_local(tmp_path / "local-2", data_dir, machine)
    try:
        # Then the session and its kernel are listed again, under the same ids
        sessions = await local.fetch("GET", "api/sessions")
        assert [(s["id"], s["kernel"]["id"]) for s in sessions] == [(session["id"], kernel_id)]
        kernels = await local.fetch("GET", "api/kernels")
        assert [(k["id"], k["name"]) for k in kernels] == [(kernel_id, REMOTE_PYTHON)]
        # And the kernel kept its state
        channel = await local.open_channel(kernel_id, secrets.token_hex(8))
        result = await channel.execute("print(x)")
        assert result.stdout == "42\n"
        channel.close()
    finally:
        local.stop()
    assert [k["id"] for k in await machine.fetch("GET", "api/kernels")] == [kernel_id]


def test_state_file_outlives_detaching_and_forgets_stopped_machines(tmp_path: Path) -> None:
    # Given a kernel manager that knows one machine kernel
    state = str(tmp_path / "machine_kernels.json")
    manager = CloudLabKernelManager(state_file=state)
    registry = MachineServerRegistry()
    manager.machine_servers = registry
    machine_server = MachineServer(
        MACHINE_ID, "trainer", "http://127.0.0.1:9", "secret", "t3.medium"
    )
    registry.add(machine_server)
    manager._adopt(machine_server, {"id": "k-1", "name": "python3"})
    entry = {"machine_id": MACHINE_ID, "remote_name": "python3"}
    assert load_kernel_map(state) == {"k-1": entry}

    # When the orchestrator lets go of the machine (as at server exit)
    registry.remove(MACHINE_ID)

    # Then the kernel leaves the lists but stays in the file, and a new manager restores it
    assert not manager.is_machine_kernel("k-1")
    assert load_kernel_map(state) == {"k-1": entry}
    restored = CloudLabKernelManager(state_file=state)
    assert restored.is_machine_kernel("k-1")
    assert restored.get_kernel("k-1").kernel_name == REMOTE_PYTHON

    # When the machine is stopped or terminated (the orchestrator forgets its kernels)
    restored.forget_machine(MACHINE_ID)

    # Then they are gone from the file too
    assert load_kernel_map(state) == {}
