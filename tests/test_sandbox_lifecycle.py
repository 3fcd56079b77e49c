"""The sandbox leaves nothing behind: leftovers of a killed server are powered off, and two
servers never share (and fight over) one sandbox."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.instances import InstanceInfo
from jupyter_cloudlab.data_folder import DataFolder
from jupyter_cloudlab.errors import CloudLabError
from jupyter_cloudlab.sandbox import hypervisor
from jupyter_cloudlab.sandbox.machine_host import MACHINE_ENV_MARKER
from jupyter_cloudlab.sandbox.sandbox import Sandbox
from tests.helpers.sandbox_ec2 import run_our_instance


def instance(instance_id: str) -> InstanceInfo:
    """What SandboxNetwork.ssh_endpoint needs of an instance: its id."""
    return InstanceInfo(
        instance_id=instance_id,
        machine_id="m-0000c1ab",
        name="box",
        state="running",
        instance_type="t3.micro",
        image_id="ami-0",
        public_ip=None,
        ssh_user="ubuntu",
        spot=False,
        launch_time=None,
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def orphan() -> Iterator[subprocess.Popen[bytes]]:
    """A process of a sandbox machine, as the machine's SSH server would have started it."""
    env = {**os.environ, MACHINE_ENV_MARKER: "i-0123456789abcdef0"}
    process = subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)
    yield process
    process.kill()


async def test_leftover_machines_of_a_killed_server_are_powered_off(
    tmp_path: Path, orphan: subprocess.Popen[bytes]
) -> None:
    # Given a machine left running by a sandbox whose server was killed
    leftover = tmp_path / "sandbox" / "machines" / "i-0123456789abcdef0"
    leftover.mkdir(parents=True)
    sandbox = Sandbox(DataFolder(tmp_path))
    try:
        # When a new sandbox starts on that data folder
        await sandbox.start()
        # Then the orphan is gone and so is its disk
        assert not _alive(orphan.pid)
        assert not leftover.exists()
    finally:
        await sandbox.stop()


async def test_a_second_sandbox_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    # Given a running sandbox
    first = Sandbox(DataFolder(tmp_path))
    await first.start()
    try:
        # When another server starts one on the same data folder
        refused_sandbox = Sandbox(DataFolder(tmp_path))
        with pytest.raises(CloudLabError) as refused:
            await refused_sandbox.start()
        await refused_sandbox.stop()
        # Then it is told plainly, and the first one keeps its endpoint
        assert "stop it first" in refused.value.message
        assert (tmp_path / "sandbox" / "endpoint.json").exists()
    finally:
        await first.stop()
    # And once the first has stopped, a new one starts
    second = Sandbox(DataFolder(tmp_path))
    await second.start()
    await second.stop()


async def test_an_idle_sandbox_does_not_poll_and_a_launch_powers_on_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a sandbox whose hypervisor would look at EC2 only every 30 s once settled
    monkeypatch.setattr(hypervisor, "IDLE_POLL_SECONDS", 30.0)
    monkeypatch.setattr(hypervisor, "SETTLE_SECONDS", 1.0)
    reads = 0
    sync = hypervisor.Hypervisor._sync

    async def counted_sync(self: hypervisor.Hypervisor) -> None:
        nonlocal reads
        reads += 1
        await sync(self)

    monkeypatch.setattr(hypervisor.Hypervisor, "_sync", counted_sync)
    sandbox = Sandbox(DataFolder(tmp_path))
    target = await sandbox.start()
    try:
        # When nothing happens for a while, Then it does not read EC2 over and over
        await asyncio.sleep(1.5)
        before = reads
        await asyncio.sleep(3)
        assert reads - before <= 1

        # When an instance is launched through the EC2 API, Then its machine powers on at once
        ec2 = AwsClient(target)
        key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
        instance_id = await run_our_instance(ec2, key)
        assert sandbox.network is not None
        host, _ = await asyncio.wait_for(sandbox.network.ssh_endpoint(instance(instance_id)), 5)
        assert host == "127.0.0.1"
    finally:
        await sandbox.stop()
