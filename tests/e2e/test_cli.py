"""`jupyter cloudlab` in a terminal, as a separate process, against the running sandbox: it lists,
stops and terminates machines through EC2 itself, and the server follows what it did."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli_process import CLI_TIMEOUT, assert_no_traceback, run_cli
from tests.helpers.host_processes import sshd_of_machine
from tests.helpers.rest_api import API, api_json, launch_ready, wait_state
from tests.helpers.sandbox_ec2 import moto_state


async def test_list_shows_the_running_machine(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given a machine launched from JupyterLab, ready
    machine = await launch_ready(jp_fetch, name="cli-list-box")

    # When the machines are listed in a terminal
    table = await run_cli(cloudlab_data_dir, "list")
    listed = await run_cli(cloudlab_data_dir, "list", "--json")

    # Then the table shows it by id, instance, state and name
    assert table.code == 0, table
    [row] = [line for line in table.stdout.splitlines() if machine["id"] in line]
    assert machine["instance_id"] in row and "running" in row and "cli-list-box" in row
    # And the JSON parses and says the same
    assert listed.code == 0, listed
    [entry] = json.loads(listed.stdout)
    assert entry["machine_id"] == machine["id"]
    assert entry["instance_id"] == machine["instance_id"]
    assert entry["state"] == "running"


async def test_stop_from_the_terminal_is_followed_by_the_server(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, name="cli-stop-box")

    # When it is stopped by name from a terminal
    run = await run_cli(cloudlab_data_dir, "stop", "cli-stop-box", "--json")

    # Then the command reports it stopped, and EC2 agrees
    assert run.code == 0, run
    assert json.loads(run.stdout)["state"] == "stopped"
    assert moto_state(cloudlab_backend, machine["instance_id"]) == "stopped"
    # And the server notices: the API shows it stopped, without its kernels
    stopped = await wait_state(jp_fetch, machine["id"], "stopped")
    assert stopped["kernelspecs"] == []


async def test_reboot_from_the_terminal_power_cycles_and_the_server_heals(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, name="cli-reboot-box")
    sshd_before, _ = sshd_of_machine(f"/machines/{machine['instance_id']}/")

    # When it is rebooted from a terminal
    run = await run_cli(cloudlab_data_dir, "reboot", machine["instance_id"], "--json")

    # Then the command reports it running, and the machine really went down and came back
    assert run.code == 0, run
    assert json.loads(run.stdout)["state"] == "running"
    deadline = asyncio.get_running_loop().time() + CLI_TIMEOUT
    while sshd_of_machine(f"/machines/{machine['instance_id']}/")[0] == sshd_before:
        assert asyncio.get_running_loop().time() < deadline, "the machine never went down"
        await asyncio.sleep(0.3)
    # And the server's tunnel heals to the machine's new boot by itself
    while True:
        connection = await api_json(jp_fetch, *API, "machines", machine["id"], "connection")
        since = datetime.fromisoformat(connection["since"] or machine["state_since"])
        if connection["tunnel"] == "up" and since > datetime.fromisoformat(machine["state_since"]):
            break
        assert asyncio.get_running_loop().time() < deadline, connection
        await asyncio.sleep(0.3)


async def test_terminate_needs_yes_when_not_interactive(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, name="cli-terminate-box")
    instance_id = machine["instance_id"]

    # When it is terminated from a script (no tty) without --yes
    refused = await run_cli(cloudlab_data_dir, "terminate", instance_id)

    # Then the command refuses, says why, and the machine is still running
    assert refused.code != 0
    assert "--yes" in refused.stderr
    assert_no_traceback(refused)
    assert moto_state(cloudlab_backend, instance_id) == "running"
    assert (await api_json(jp_fetch, *API, "machines", machine["id"]))["state"] == "ready"

    # When it is terminated with --yes
    run = await run_cli(cloudlab_data_dir, "terminate", instance_id, "--yes")

    # Then EC2 says terminated
    assert run.code == 0, run
    assert moto_state(cloudlab_backend, instance_id) == "terminated"


@pytest.mark.parametrize("command", ["stop", "start", "reboot", "terminate"])
async def test_unknown_machine_exits_2_with_a_sentence(
    cloudlab_backend: Any, cloudlab_data_dir: Path, command: str
) -> None:
    # Given a running sandbox with no machine called no-such-box
    # When a command names it
    run = await run_cli(
        cloudlab_data_dir, command, "no-such-box", *(["--yes"] if command == "terminate" else [])
    )

    # Then it exits 2 with a sentence naming the machine, no traceback
    assert run.code == 2, run
    assert "no-such-box" in run.stderr
    assert_no_traceback(run)


async def test_without_sandbox_or_credentials_list_exits_2(tmp_path: Path) -> None:
    # Given no AWS credentials and a data folder with no sandbox running
    data_dir = tmp_path / "cloudlab-data"
    data_dir.mkdir()

    # When the machines are listed
    run = await run_cli(data_dir, "list")

    # Then it exits 2 with a sentence saying what is missing, no traceback
    assert run.code == 2, run
    assert "credentials" in run.stderr and "sandbox" in run.stderr
    assert_no_traceback(run)
