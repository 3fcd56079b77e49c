"""Many things at once, through the REST API as the panel sends them (issue 15): simultaneous
launches, a stop during the bootstrap, a terminate while run_instances is under way, commands
that the state refuses. Each scenario waits until every machine is settled, then checks that
each row is one the panel can explain and that nothing is orphaned: the sweep's own listing and
EC2's own view agree with the rows (tests/helpers/settled.py).

Sandbox machines served by OpenSSH's sshd, like the other end-to-end tests.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tests.helpers.call_gate import CallGate
from tests.helpers.rest_api import API, api_json, api_reply, error_message, wait_state
from tests.helpers.sandbox_ec2 import cloud_resources, moto_client, moto_state
from tests.helpers.settled import (
    assert_explainable,
    assert_no_orphans,
    gone,
    settled_machines,
)

LAUNCHES = 5


async def _image(jp_fetch: Any) -> str:
    images = (await api_json(jp_fetch, *API, "catalog", "images"))["images"]
    return str(images[0]["id"])


async def _post_launch(jp_fetch: Any, image: str, name: str) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"name": name, "instance_type": "t3.medium", "image_id": image})
    status, text = await api_reply(jp_fetch, *API, "machines", method="POST", raw_body=body)
    return status, json.loads(text)


async def _command(jp_fetch: Any, machine_id: str, action: str) -> tuple[int, str]:
    if action == "terminate":
        return await api_reply(jp_fetch, *API, "machines", machine_id, method="DELETE")
    return await api_reply(jp_fetch, *API, "machines", machine_id, action, method="POST")


async def _terminate_all(backend: Any, jp_fetch: Any) -> None:
    rows = (await api_json(jp_fetch, *API, "machines"))["machines"]
    replies = await asyncio.gather(*(_command(jp_fetch, r["id"], "terminate") for r in rows))
    assert [status for status, _ in replies] == [202] * len(rows), replies
    await gone(jp_fetch)
    await assert_no_orphans(backend, [])


async def test_five_launches_at_once_are_all_ready(cloudlab_backend: Any, jp_fetch: Any) -> None:
    # Given the sandbox's first image, and nothing launched yet (no key pair, no group)
    image = await _image(jp_fetch)

    # When five launches are posted at the same moment (as quick clicks would)
    started = time.monotonic()
    replies = await asyncio.gather(
        *(_post_launch(jp_fetch, image, f"at-once-{n}") for n in range(LAUNCHES))
    )

    # Then each is accepted, and every one of them becomes ready: none fails on a key pair,
    # group or rule that another launch made at the same moment
    assert [status for status, _ in replies] == [202] * LAUNCHES, replies
    rows = await settled_machines(jp_fetch)
    elapsed = time.monotonic() - started
    print(f"\n{LAUNCHES} simultaneous launches: all settled in {elapsed:.1f} s")
    assert sorted(r["state"] for r in rows) == ["ready"] * LAUNCHES, rows
    assert_explainable(rows)
    # And they share one key pair and one group, whose SSH rule is there once
    await assert_no_orphans(cloudlab_backend, rows)
    [group_id] = cloud_resources(cloudlab_backend)["security_groups"]
    [group] = moto_client(cloudlab_backend).describe_security_groups(GroupIds=[group_id])[
        "SecurityGroups"
    ]
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["127.0.0.1/32"]

    # When all five are terminated at once, Then nothing of ours is left
    await _terminate_all(cloudlab_backend, jp_fetch)


async def test_stop_twice_and_start_while_stopping_are_refused(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a ready machine
    image = await _image(jp_fetch)
    _, launched = await _post_launch(jp_fetch, image, "twice")
    machine = await wait_state(jp_fetch, launched["id"], "ready")

    # When stop is posted twice at the same moment, Then one is taken, the other refused (409)
    # with a sentence that says why
    first, second = await asyncio.gather(
        _command(jp_fetch, machine["id"], "stop"), _command(jp_fetch, machine["id"], "stop")
    )
    assert sorted([first[0], second[0]]) == [202, 409]
    refused = first if first[0] == 409 else second
    assert error_message(*refused) == "A stopping machine cannot be stopped."
    # And a start while it stops is refused the same way
    status, text = await _command(jp_fetch, machine["id"], "start")
    assert status == 409
    assert error_message(status, text) == (
        "Only a stopped machine can be started; this one is stopping."
    )

    # Then it stops once, and EC2 agrees
    [row] = await settled_machines(jp_fetch)
    assert row["state"] == "stopped"
    assert moto_state(cloudlab_backend, machine["instance_id"]) == "stopped"
    assert_explainable([row])
    await assert_no_orphans(cloudlab_backend, [row])

    # When start is posted twice at once, Then one start is taken and the machine is ready
    replies = await asyncio.gather(
        _command(jp_fetch, machine["id"], "start"), _command(jp_fetch, machine["id"], "start")
    )
    assert sorted(status for status, _ in replies) == [202, 409]
    [row] = await settled_machines(jp_fetch)
    assert row["state"] == "ready"
    await assert_no_orphans(cloudlab_backend, [row])
    await _terminate_all(cloudlab_backend, jp_fetch)


async def test_a_stop_during_the_bootstrap_stops_it_cleanly(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a machine being bootstrapped
    image = await _image(jp_fetch)
    _, launched = await _post_launch(jp_fetch, image, "stop-early")
    await wait_state(jp_fetch, launched["id"], "bootstrapping")

    # When it is stopped then
    status, text = await _command(jp_fetch, launched["id"], "stop")
    assert status == 202, text
    assert json.loads(text)["state"] == "stopping"

    # Then it ends stopped (not ready, not failed), as EC2 says, with nothing orphaned
    [row] = await settled_machines(jp_fetch)
    assert row["state"] == "stopped", row
    assert moto_state(cloudlab_backend, row["instance_id"]) == "stopped"
    assert_explainable([row])
    await assert_no_orphans(cloudlab_backend, [row])
    assert cloudlab_backend.current.orchestrator.tunnel_state(row["id"]) == "detached"

    # And it starts again as any stopped machine does
    assert (await _command(jp_fetch, row["id"], "start"))[0] == 202
    [row] = await settled_machines(jp_fetch)
    assert row["state"] == "ready", row
    await _terminate_all(cloudlab_backend, jp_fetch)


async def test_a_terminate_while_run_instances_is_under_way_leaves_nothing(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a launch whose run_instances is on its way to EC2 (held just before it is sent)
    image = await _image(jp_fetch)
    gate = CallGate(cloudlab_backend.current.ec2, "RunInstances")
    try:
        _, launched = await _post_launch(jp_fetch, image, "cut-short")
        await gate.until(gate.entered)

        # When the machine is terminated meanwhile
        status, text = await _command(jp_fetch, launched["id"], "terminate")
        assert status == 202, text
        assert json.loads(text)["state"] == "terminating"

        # And EC2 then makes the instance
        gate.open()
        await gate.until(gate.returned)
    finally:
        gate.remove()

    # Then the instance EC2 made is terminated too, the row goes, and nothing is left behind:
    # no instance billed without a row, no key pair or group
    await gone(jp_fetch)
    await assert_no_orphans(cloudlab_backend, [])
    states = [
        i["State"]["Name"]
        for r in (await cloudlab_backend.current.ec2.call("describe_instances"))["Reservations"]
        for i in r["Instances"]
    ]
    assert states == ["terminated"]
