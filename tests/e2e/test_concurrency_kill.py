"""The local server SIGKILLed mid-launch in the sandbox, then started again on the same data
folder (issue 15).

What this can honestly check: the sandbox's EC2 lives in the server's process, so the killed
server's instances die with it, while the machine it had powered on (an sshd and what it
started, on this host) outlives it. The restarted server must cut that machine's power and
remove its disk (Sandbox._clear_leftovers), show no phantom row for the launch it lost, and
leave its new cloud clean (the sweep's own listing): and launch again. What the cloud keeps
across a kill (an instance to adopt, a key pair and group to release) is checked against a
long-lived moto server in tests/test_concurrency_aws.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.tags import Computer
from jupyter_cloudlab.data_folder import DataFolder
from jupyter_cloudlab.pytest_plugin import cloudlab_require_openssh
from jupyter_cloudlab.sandbox.machine_disk import marked_pids
from jupyter_cloudlab.sandbox.sandbox import read_endpoint_file
from jupyter_cloudlab.ssh.client_key import load_or_create_client_key, public_key_line
from tests.helpers.host_processes import processes_with
from tests.helpers.machine_server import MachineServerProcess, start_machine_server_process
from tests.helpers.rest_api import READY_TIMEOUT
from tests.helpers.settled import sweep_listing

MACHINES = "cloudlab/api/machines"
# Mid-launch, with the machine powered on and a session of ours on it.
BOOTSTRAPPING = ("bootstrapping",)


def _machine_processes(instance_id: str) -> set[int]:
    """The sandbox machine's processes on this host: its sshd (named by its config's path) and
    the sessions it serves (carrying the machine's marker)."""
    sshd = {pid for pid, _, _ in processes_with(f"/machines/{instance_id}/")}
    return sshd | set(marked_pids(instance_id))


def _start(root: Path, data_dir: Path) -> MachineServerProcess:
    config = {
        "ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": True}},
        "CloudLab": {"mode": "sandbox", "sandbox_ssh_server": "openssh", "data_dir": str(data_dir)},
    }
    return start_machine_server_process(root, config=config)


async def _machines(server: MachineServerProcess) -> list[dict[str, Any]]:
    """The machine rows, once the extension's session is open."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return list((await server.fetch("GET", MACHINES))["machines"])
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _until_state(server: MachineServerProcess, machine_id: str, *states: str) -> Any:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        machine = await server.fetch("GET", f"{MACHINES}/{machine_id}")
        if machine["state"] in states:
            return machine
        assert machine["state"] != "failed", machine["message"]
        assert time.monotonic() < deadline, machine["state"]
        await asyncio.sleep(0.1)


async def _launch(server: MachineServerProcess, name: str) -> dict[str, Any]:
    images = (await server.fetch("GET", "cloudlab/api/catalog/images"))["images"]
    body = {"name": name, "instance_type": "t3.medium", "image_id": images[0]["id"]}
    return dict(await server.fetch("POST", MACHINES, body))


async def test_a_sandbox_server_killed_mid_launch_is_cleared_at_its_restart(
    tmp_path: Path,
) -> None:
    cloudlab_require_openssh()
    # Given a local server (its own process) whose launch has powered its machine on
    data_dir = tmp_path / "data"
    server = _start(tmp_path / "server-1", data_dir)
    try:
        await _machines(server)
        launched = await _launch(server, "killed")
        machine = await _until_state(server, launched["id"], *BOOTSTRAPPING)
        instance_id = machine["instance_id"]
        # (its bootstrap's session has started on the machine: the state says so a moment before)
        deadline = time.monotonic() + READY_TIMEOUT
        while len(_machine_processes(instance_id)) < 2:
            assert time.monotonic() < deadline, "no session of ours on the machine"
            await asyncio.sleep(0.02)
    finally:
        # When the server is SIGKILLed then
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
    machine_disk = DataFolder(data_dir).sandbox_machines / instance_id
    # (the machine outlived it: its sshd and our session on it)
    assert len(_machine_processes(instance_id)) >= 2 and machine_disk.exists()

    # And started again on the same data folder
    started = time.monotonic()
    server = _start(tmp_path / "server-2", data_dir)
    try:
        rows = await _machines(server)

        # Then the killed sandbox's machine is off and its disk gone, no phantom row shows
        # the launch that died with that sandbox's EC2, and its new cloud holds nothing of ours
        assert rows == []
        assert _machine_processes(instance_id) == set()
        assert not machine_disk.exists()
        target = read_endpoint_file(DataFolder(data_dir))
        assert target is not None
        key = load_or_create_client_key(DataFolder(data_dir).client_key)
        assert await sweep_listing(AwsClient(target), Computer.of(public_key_line(key))) == {}
        print(f"\nrestarted and cleared in {time.monotonic() - started:.1f} s")

        # And a launch works again on that data folder
        again = await _launch(server, "again")
        await _until_state(server, again["id"], "ready")
        await server.fetch("DELETE", f"{MACHINES}/{again['id']}")
        deadline = time.monotonic() + READY_TIMEOUT
        while await _machines(server):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    finally:
        server.stop()
