"""The idle stop and the budget end to end on the sandbox: the limit is set through the REST route
(`PUT /machines/{id}/guard`), the machine's own guard decides and powers off (the sandbox's power
button), and EC2 shows the instance stopped with AWS's reason for a shutdown from inside; the row
says why. `CLOUDLAB_IDLE_TEST_MINUTES=1` measures the issue's figure (a minute's limit)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime
from typing import Any

import pytest

from jupyter_cloudlab.sandbox.power_button import INSTANCE_INITIATED
from tests.helpers.rest_api import API, api_json, api_reply, error_message, launch_ready, wait_state
from tests.helpers.sandbox_ec2 import moto_client

IDLE_MINUTES = float(os.environ.get("CLOUDLAB_IDLE_TEST_MINUTES", "0.1"))  # fractions: tests only


async def _ec2_stopped(backend: Any, instance_id: str, timeout: float) -> tuple[float, dict]:
    """The moment (this host's clock) EC2 first shows the instance stopped, and the instance."""
    deadline = time.monotonic() + timeout
    while True:
        found = moto_client(backend).describe_instances(InstanceIds=[instance_id])
        raw = found["Reservations"][0]["Instances"][0]
        if raw["State"]["Name"] == "stopped":
            return time.time(), raw
        assert time.monotonic() < deadline, f"still {raw['State']['Name']}"
        await asyncio.sleep(0.2)


def _instance_initiated(raw: dict) -> None:
    code, message = INSTANCE_INITIATED
    assert raw["StateReason"] == {"Code": code, "Message": message}


@pytest.mark.timeout(600)
async def test_an_idle_machine_stops_itself_after_its_limit(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, "idle-box")
    machine_id = machine["id"]

    # When its idle limit is set on its row (the route the panel and the CLI use)
    changed = await api_json(
        jp_fetch,
        *API,
        "machines",
        machine_id,
        "guard",
        method="PUT",
        body={"idle_minutes": IDLE_MINUTES},
    )
    assert changed["idle_minutes"] == max(1, round(IDLE_MINUTES))
    idle_since = datetime.fromisoformat(changed["idle"]["idle_since"]).timestamp()
    assert changed["idle"]["stops_at"] is not None

    # Then the instance stops by itself within the limit and a tick or a hypervisor round
    limit = IDLE_MINUTES * 60
    stopped_at, raw = await _ec2_stopped(cloudlab_backend, machine["instance_id"], limit + 90)
    took = stopped_at - idle_since
    print(f"\nidle limit {IDLE_MINUTES:g} min: last activity -> EC2 stopped in {took:.1f} s")
    assert limit <= took <= limit + 60
    _instance_initiated(raw)
    # And its row says it stopped itself because it was idle (its shutdown.json read back)
    row = await wait_state(jp_fetch, machine_id, "stopped")
    assert row["stop_reason"] and "idle" in row["stop_reason"], row["stop_reason"]


@pytest.mark.timeout(600)
async def test_a_budget_stops_the_machine_when_its_money_runs_out(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a ready g5.xlarge (about $1.03 an hour in all: a tenth of a cent lasts ~3.5 s)
    machine = await launch_ready(jp_fetch, "budget-box", "g5.xlarge")
    machine_id = machine["id"]
    spent = (await api_json(jp_fetch, *API, "machines", machine_id))["spent_usd"] or 0.0

    # When its budget is a cent more than it spent
    changed = await api_json(
        jp_fetch,
        *API,
        "machines",
        machine_id,
        "guard",
        method="PUT",
        body={"budget_usd": spent + 0.01},
    )
    assert changed["budget_usd"] == pytest.approx(spent + 0.01)
    deadline = datetime.fromisoformat(changed["stop_at"]).timestamp()
    assert 20 < deadline - time.time() < 60  # ~35 s of a cent at its hourly cost

    # Then it stops itself at the deadline, as EC2 shows and its row says
    stopped_at, raw = await _ec2_stopped(cloudlab_backend, machine["instance_id"], 120)
    assert deadline <= stopped_at <= deadline + 30
    _instance_initiated(raw)
    row = await wait_state(jp_fetch, machine_id, "stopped")
    assert row["stop_reason"] and "budget" in row["stop_reason"], row["stop_reason"]


async def test_the_guard_of_a_machine_that_is_not_ready_cannot_be_set(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a machine that is stopped
    machine = await launch_ready(jp_fetch, "stopped-box")
    await api_json(jp_fetch, *API, "machines", machine["id"], "stop", method="POST")
    await wait_state(jp_fetch, machine["id"], "stopped")

    # When its idle limit is changed, or a limit out of range is sent
    status, text = await api_reply(
        jp_fetch,
        *API,
        "machines",
        machine["id"],
        "guard",
        method="PUT",
        raw_body='{"idle_minutes": 5}',
    )
    # Then it is refused with a sentence: not ready (409), out of range (400)
    assert status == 409 and "not ready" in error_message(status, text)
    status, text = await api_reply(
        jp_fetch,
        *API,
        "machines",
        machine["id"],
        "guard",
        method="PUT",
        raw_body='{"idle_minutes": -1}',
    )
    assert status == 400 and "idle_minutes" in error_message(status, text)
