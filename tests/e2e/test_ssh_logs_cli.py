"""`jupyter cloudlab logs <machine>` fetches the machine's server log over (pinned) SSH."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.cli_process import assert_no_traceback, run_cli
from tests.helpers.rest_api import launch_ready


async def test_logs_of_a_ready_machine(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given a ready sandbox machine
    machine = await launch_ready(jp_fetch, name="logs-box")

    # When its logs are asked for in a terminal, by name
    run = await run_cli(cloudlab_data_dir, "logs", "logs-box", "--lines", "50")

    # Then the machine server's log comes back, without the token in it
    assert run.code == 0, run
    assert_no_traceback(run)
    assert "Jupyter Server" in run.stdout
    token = cloudlab_backend.machine_servers.get(machine["id"]).token
    assert token not in run.stdout

    # And an unknown machine is a plain error
    missing = await run_cli(cloudlab_data_dir, "logs", "no-such-box")
    assert missing.code == 2 and "No machine of ours" in missing.stderr
    assert_no_traceback(missing)
