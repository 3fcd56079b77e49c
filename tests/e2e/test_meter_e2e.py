"""The meter against price × time on the sandbox: a machine started, stopped, started again,
with a local restart (the orchestrator detached and rebuilt from the data folder and the
cloud) during its second run, then stopped. Times are moto's and this test's own clock."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.rest_api import API, api_json, launch_ready, wait_state
from tests.helpers.sandbox_ec2 import moto_client

RUN_SECONDS = 10
G5_ON_DEMAND = 1.006  # the us-east-1 snapshot's price (the sandbox has no Pricing API)
PUBLIC_IPV4 = 0.005
GP3_100_GB_PER_HOUR = 8.0 / 730


async def _stopped_and_metered(jp_fetch: Any, meter_file: Path, machine_id: str) -> None:
    """Once the machine is stopped and the meter has closed its running period."""
    await wait_state(jp_fetch, machine_id, "stopped")
    for _ in range(100):
        periods = json.loads(meter_file.read_text())[machine_id]["periods"]  # noqa: ASYNC240
        if periods and periods[-1]["end"] is not None:
            return
        await asyncio.sleep(0.1)
    pytest.fail("the meter never closed the running period")


async def _post(jp_fetch: Any, machine_id: str, action: str) -> float:
    """The moment (this test's clock) the request was sent."""
    sent = time.time()
    await api_json(jp_fetch, *API, "machines", machine_id, action, method="POST")
    return sent


@pytest.mark.timeout(600)
async def test_the_meter_matches_price_times_time_across_stop_start_and_restart(
    cloudlab_backend: Any, cloudlab_session: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    meter_file = cloudlab_data_dir / "sandbox" / "meter.json"
    # Given a g5.xlarge machine, running since its EC2 LaunchTime
    machine = await launch_ready(jp_fetch, "meter-box", "g5.xlarge")
    machine_id = machine["id"]
    raw = moto_client(cloudlab_backend).describe_instances(InstanceIds=[machine["instance_id"]])
    launch_time = raw["Reservations"][0]["Instances"][0]["LaunchTime"].timestamp()
    assert machine["price_per_hour"] == G5_ON_DEMAND
    assert machine["price_source"] == "snapshot us-east-1 (2026-11)"
    assert [line["what"] for line in machine["cost_lines"]] == [
        "compute g5.xlarge on-demand us-east-1",
        "EBS gp3 100 GB",
        "public IPv4",
    ]

    # When it runs, is stopped, started again, and this server restarts during its second run
    await asyncio.sleep(RUN_SECONDS)
    first_stop = await _post(jp_fetch, machine_id, "stop")
    await _stopped_and_metered(jp_fetch, meter_file, machine_id)
    stopped = await api_json(jp_fetch, *API, "machines", machine_id)
    assert stopped["stopped_cost_per_month"] == pytest.approx(8.0)
    await asyncio.sleep(RUN_SECONDS / 2)
    second_start = await _post(jp_fetch, machine_id, "start")
    await wait_state(jp_fetch, machine_id, "ready")
    orchestrator = cloudlab_session.orchestrator
    await orchestrator.close()  # what a server's exit does: detach, forget nothing in EC2
    await orchestrator.reconcile()  # what the next server's start does, from the data folder
    await wait_state(jp_fetch, machine_id, "ready")
    await asyncio.sleep(RUN_SECONDS)
    second_stop = await _post(jp_fetch, machine_id, "stop")
    await _stopped_and_metered(jp_fetch, meter_file, machine_id)
    asked = time.time()
    final = await api_json(jp_fetch, *API, "machines", machine_id)

    # Then what it spent is price × time: compute and address while it ran, disk since launch
    running_hours = ((first_stop - launch_time) + (second_stop - second_start)) / 3600
    expected = (G5_ON_DEMAND + PUBLIC_IPV4) * running_hours
    expected += GP3_100_GB_PER_HOUR * (asked - launch_time) / 3600
    print(
        f"meter {final['spent_usd']:.6f} USD vs price x time {expected:.6f} USD "
        f"({(final['spent_usd'] - expected) / expected:+.3%}), "
        f"running {running_hours * 3600:.1f} s, since launch {asked - launch_time:.1f} s"
    )
    assert abs(final["spent_usd"] - expected) <= 0.01 * expected
    assert datetime.fromisoformat(final["launched_at"]).timestamp() <= launch_time + 1
