"""A machine's idle limit and budget chosen at launch (`POST /machines` with `idle_minutes`,
`budget_usd`), end to end on the sandbox: the row shows them from the start, the machine's own
guard has them once it is ready, and a later start keeps an idle limit changed on the machine
(`jupyter cloudlab idle`, over SSH). The strict case, a local record older than the machine's
limit, is in tests/test_launch_guard_settings.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_cloudlab.kernels.server_client import MachineServerClient
from tests.helpers.cli_process import run_cli
from tests.helpers.rest_api import API, api_json, wait_state

NAME = "launch-guard-box"


async def _guard(backend: Any, machine_id: str) -> dict[str, Any]:
    """What the machine's own guard says (through the tunnel, as the local server reads it)."""
    return await MachineServerClient(backend.machine_servers.get(machine_id)).guard_status()


async def _row_when(jp_fetch: Any, machine_id: str, check: Any, timeout: float = 60) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row = await api_json(jp_fetch, *API, "machines", machine_id)
        if check(row):
            return dict(row)
        assert asyncio.get_running_loop().time() < deadline, row
        await asyncio.sleep(0.5)


async def test_the_launch_idle_limit_and_budget_reach_the_machine_and_a_restart_keeps_its_own(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given the server's defaults, which the panel's form starts from
    status = await api_json(jp_fetch, *API, "status")
    assert status["default_idle_minutes"] == 30 and status["default_budget_usd"] == 0

    # When a machine is launched with an idle limit of 7 minutes and a $2.50 budget
    images = (await api_json(jp_fetch, *API, "catalog", "images"))["images"]
    launched = await api_json(
        jp_fetch,
        *API,
        "machines",
        method="POST",
        body={
            "name": NAME,
            "instance_type": "t3.medium",
            "image_id": images[0]["id"],
            "idle_minutes": 7,
            "budget_usd": 2.5,
        },
    )
    # Then its row shows them from the start
    assert (launched["idle_minutes"], launched["budget_usd"]) == (7, 2.5)
    machine_id = launched["id"]

    # And once ready, the machine's guard has that idle limit and the budget's deadline
    await wait_state(jp_fetch, machine_id, "ready")
    row = await _row_when(jp_fetch, machine_id, lambda r: r["stop_at"] and r["idle"])
    guard = await _guard(cloudlab_backend, machine_id)
    assert guard["idle_minutes"] == 7 and row["idle_minutes"] == 7
    stop_at = datetime.fromisoformat(row["stop_at"])
    assert stop_at > datetime.now(timezone.utc)  # hours away at a t3.medium's price
    assert guard["stop_at"] is not None

    # When its idle limit is changed on the machine itself, then it is stopped and started
    run = await run_cli(cloudlab_data_dir, "idle", NAME, "45")
    assert run.code == 0, run
    await api_json(jp_fetch, *API, "machines", machine_id, "stop", method="POST")
    await wait_state(jp_fetch, machine_id, "stopped")
    await api_json(jp_fetch, *API, "machines", machine_id, "start", method="POST")
    await wait_state(jp_fetch, machine_id, "ready")

    # Then the machine keeps its own limit (the launch's is never sent again), and the row
    # follows it; the budget's deadline is sent again
    await _row_when(jp_fetch, machine_id, lambda r: r["idle_minutes"] == 45)
    guard = await _guard(cloudlab_backend, machine_id)
    assert guard["idle_minutes"] == 45 and guard["stop_at"] is not None
    await api_json(jp_fetch, *API, "machines", machine_id, method="DELETE")
