"""The sandbox leaves nothing behind: leftovers of a killed server are powered off, and two
servers never share (and fight over) one sandbox."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_cloudlab.cloud.errors import CloudError
from jupyter_cloudlab.sandbox.machine_host import MACHINE_ENV_MARKER
from jupyter_cloudlab.sandbox.sandbox import Sandbox


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
    sandbox = Sandbox(tmp_path / "sandbox")
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
    first = Sandbox(tmp_path / "sandbox")
    await first.start()
    try:
        # When another server starts one on the same data folder
        refused_sandbox = Sandbox(tmp_path / "sandbox")
        with pytest.raises(CloudError) as refused:
            await refused_sandbox.start()
        await refused_sandbox.stop()
        # Then it is told plainly, and the first one keeps its endpoint
        assert "stop it first" in refused.value.message
        assert (tmp_path / "sandbox" / "endpoint.json").exists()
    finally:
        await first.stop()
    # And once the first has stopped, a new one starts
    second = Sandbox(tmp_path / "sandbox")
    await second.start()
    await second.stop()
