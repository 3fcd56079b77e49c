"""Every stop explained, every billed machine stoppable: in the sandbox, with OpenSSH machines.

A stop or termination done by another tool (EC2 called directly, as the AWS console or CLI
would) keeps the machine's row with the reason; the machine's own shutdown record wins over
EC2's words; a failed machine that still runs offers Stop and Retry, and Retry reconnects; a
stopped machine is resized and saved as an image through the REST API.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from jupyter_cloudlab.machines import link, shutdown_records
from tests.helpers.rest_api import (
    API,
    api_json,
    api_reply,
    error_message,
    launch_ready,
    wait_state,
)
from tests.helpers.sandbox_ec2 import moto_client


@pytest.fixture(autouse=True)
def fast_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutdown_records, "POLL_SECONDS", 0.3)


async def test_a_console_stop_shows_its_reason_on_the_row(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, name="console-stop")

    # When another tool stops it through EC2 (as the AWS console or CLI does)
    moto_client(cloudlab_backend).stop_instances(InstanceIds=[machine["instance_id"]])

    # Then the row becomes stopped by itself, and says who stopped it
    stopped = await wait_state(jp_fetch, machine["id"], "stopped")
    assert stopped["stop_reason"].startswith("Stopped from outside CloudLab"), stopped
    assert {"start", "resize", "image"} <= set(stopped["actions"])

    # And our own start clears it (what comes next is ours)
    await api_json(jp_fetch, *API, "machines", machine["id"], "start", method="POST")
    assert (await wait_state(jp_fetch, machine["id"], "ready"))["stop_reason"] is None


async def test_a_termination_from_outside_keeps_the_row_until_dismissed(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, name="console-end")

    # When another tool terminates it
    moto_client(cloudlab_backend).terminate_instances(InstanceIds=[machine["instance_id"]])

    # Then its row stays, terminated, with the reason, and offers only Dismiss
    gone = await wait_state(jp_fetch, machine["id"], "terminated")
    assert gone["stop_reason"].startswith("Terminated from outside CloudLab"), gone
    assert gone["actions"] == ["dismiss"]

    # When it is dismissed, Then the row is gone
    left = await api_json(jp_fetch, *API, "machines", machine["id"], "dismiss", method="POST")
    assert machine["id"] not in [m["id"] for m in left["machines"]]


async def test_the_machines_own_shutdown_record_is_preferred(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a ready machine whose idle watcher wrote why it shuts down (on its own disk)
    machine = await launch_ready(jp_fetch, name="idle-stop")
    disk = cloudlab_backend.current.sandbox.machines_dir / machine["instance_id"]
    [home] = [p for p in disk.glob("home/*") if (p / ".cloudlab").is_dir()]
    record = {"reason": "idle", "at": datetime.now(timezone.utc).isoformat(), "detail": "30 min"}
    (home / ".cloudlab" / "shutdown.json").write_text(json.dumps(record))
    await asyncio.sleep(1.5)  # the laptop's poll reads it while the machine is up

    # When the machine goes down (EC2's own reason says only "stopped")
    moto_client(cloudlab_backend).stop_instances(InstanceIds=[machine["instance_id"]])

    # Then the row gives the machine's reason
    stopped = await wait_state(jp_fetch, machine["id"], "stopped")
    assert stopped["stop_reason"].startswith("The machine stopped itself: it was idle: 30 min")


async def test_a_failed_machine_that_runs_offers_stop_and_retry(
    cloudlab_backend: Any, jp_fetch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stopped machine whose next bootstrap fails once
    machine = await launch_ready(jp_fetch, name="retry-box")
    await api_json(jp_fetch, *API, "machines", machine["id"], "stop", method="POST")
    await wait_state(jp_fetch, machine["id"], "stopped")
    real_bootstrap, failures = link.bootstrap, [1]

    async def flaky_bootstrap(*args: Any, **kwargs: Any) -> Any:
        if failures:
            failures.pop()
            raise RuntimeError("the machine's python is missing")
        return await real_bootstrap(*args, **kwargs)

    monkeypatch.setattr(link, "bootstrap", flaky_bootstrap)

    # When it is started
    await api_json(jp_fetch, *API, "machines", machine["id"], "start", method="POST")

    # Then it fails while its instance runs (billed), and offers Stop and Retry, not only Terminate
    failed = await _until_failed(jp_fetch, machine["id"])
    assert failed["instance_state"] == "running"
    assert {"stop", "retry", "terminate"} <= set(failed["actions"])

    # When Retry is asked, Then it connects and bootstraps again: ready
    retrying = await api_json(jp_fetch, *API, "machines", machine["id"], "retry", method="POST")
    assert retrying["state"] == "connecting"
    assert (await wait_state(jp_fetch, machine["id"], "ready"))["kernelspecs"]


async def test_resize_and_image_through_the_api(cloudlab_backend: Any, jp_fetch: Any) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, name="resize-box")
    path = (*API, "machines", machine["id"])

    # When it is resized or saved while it runs, Then both are 409 with a sentence
    for action, body in (("resize", {"instance_type": "t3.large"}), ("image", {"name": "mine"})):
        status, text = await api_reply(
            jp_fetch, *path, action, method="POST", raw_body=json.dumps(body)
        )
        assert status == 409 and "Stop the machine" in error_message(status, text), text

    # When it is stopped and resized to another architecture, Then 400 names it
    await api_json(jp_fetch, *path, "stop", method="POST")
    await wait_state(jp_fetch, machine["id"], "stopped")
    body = json.dumps({"instance_type": "t4g.medium"})
    status, text = await api_reply(jp_fetch, *path, "resize", method="POST", raw_body=body)
    assert status == 400 and "arm64" in error_message(status, text), text

    # When resized to a bigger type, Then the row shows it at once
    resized = await api_json(
        jp_fetch, *path, "resize", method="POST", body={"instance_type": "t3.large"}
    )
    assert resized["instance_type"] == "t3.large"

    # When saved as an image, Then the picker offers it first, as yours, with its cost
    body = {"name": "resize-box env", "description": "my packages"}
    image = await api_json(jp_fetch, *path, "image", method="POST", body=body)
    assert image["ours"] and image["family"] == "yours"
    offered = (await api_json(jp_fetch, *API, "catalog", "images"))["images"]
    assert offered[0]["id"] == image["id"] and offered[0]["storage_usd_per_month"] > 0


async def _until_failed(jp_fetch: Any, machine_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 120
    while True:
        machine: dict[str, Any] = await api_json(jp_fetch, *API, "machines", machine_id)
        if machine["state"] == "failed":
            return machine
        assert asyncio.get_running_loop().time() < deadline, machine["state"]
        await asyncio.sleep(0.3)
