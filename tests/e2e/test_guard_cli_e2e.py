"""`jupyter cloudlab idle|keep-alive|budget <machine>`: a machine's guard changed from a terminal,
without JupyterLab's API (over SSH, to the machine's own guard); JupyterLab's row follows."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.helpers.cli_process import assert_no_traceback, run_cli
from tests.helpers.rest_api import API, api_json, launch_ready


async def test_the_cli_sets_idle_limit_keep_alive_and_budget(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given a ready sandbox machine
    machine = await launch_ready(jp_fetch, name="cli-guard-box")

    # When its idle limit is set from a terminal
    run = await run_cli(cloudlab_data_dir, "idle", "cli-guard-box", "45")
    # Then the machine's guard says so, and the token never shows
    assert run.code == 0, run
    assert_no_traceback(run)
    assert "idle limit 45 min" in run.stdout
    token = cloudlab_backend.machine_servers.get(machine["id"]).token
    assert token not in run.stdout + run.stderr

    # When it is kept running until a time, and given a budget
    keep = await run_cli(cloudlab_data_dir, "keep-alive", "cli-guard-box", "--until", "23:59")
    assert keep.code == 0, keep
    assert "kept running until" in keep.stdout and "23:59" in keep.stdout
    budget = await run_cli(cloudlab_data_dir, "budget", machine["id"], "5", "--json")
    # Then the budget became a deadline on the machine (hours away at a t3.medium's price)
    assert budget.code == 0, budget
    assert '"stop_at": "' in budget.stdout

    # And JupyterLab's row shows the machine's idle limit and keep-alive at its next poll
    orchestrator = (await cloudlab_backend.session()).orchestrator
    for _ in range(60):
        row = await api_json(jp_fetch, *API, "machines", machine["id"])
        if row["idle_minutes"] == 45 and row["idle"] and row["idle"]["keep_until"]:
            break
        await asyncio.sleep(1)
    assert row["idle_minutes"] == 45, row
    assert (
        datetime.fromisoformat(row["idle"]["keep_until"]).astimezone().strftime("%H:%M") == "23:59"
    )
    assert orchestrator.get(machine["id"]).state.value == "ready"

    # And a bad time or minutes is a plain error (exit 2)
    bad = await run_cli(cloudlab_data_dir, "keep-alive", "cli-guard-box", "--until", "25:00")
    assert bad.code == 2 and "HH:MM" in bad.stderr
    assert_no_traceback(bad)
