"""Bad input to the REST API: a 4xx JSON reply whose message names what is wrong, no traceback,
and nothing created in EC2 (checked by asking the sandbox's EC2 itself)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers.rest_api import API, api_json, api_reply, error_message, launch_ready, wait_state
from tests.helpers.sandbox_ec2 import cloud_resources

NOTHING = {"instances": [], "security_groups": [], "key_pairs": []}
DROP = object()  # a field left out of the launch request


async def _image_id(jp_fetch: Any) -> str:
    images = (await api_json(jp_fetch, *API, "catalog", "images"))["images"]
    return str(images[0]["id"])


def _launch_body(image_id: str, changes: dict[str, Any]) -> str:
    body: dict[str, Any] = {"name": "bad-box", "instance_type": "t3.medium", "image_id": image_id}
    for field, value in changes.items():
        if value is DROP:
            body.pop(field)
        else:
            body[field] = value
    return json.dumps(body)


@pytest.mark.parametrize(
    ("raw_body", "named"),
    [
        pytest.param('{"instance_type": "t3.medium", ', "json", id="not-json"),
        pytest.param('["t3.medium", "ami-0123456789abcdef0"]', "object", id="array"),
    ],
)
async def test_launch_body_that_is_not_an_object_is_refused(
    cloudlab_backend: Any, jp_fetch: Any, raw_body: str, named: str
) -> None:
    # Given a running sandbox with nothing launched
    # When the launch body is not a JSON object
    status, text = await api_reply(jp_fetch, *API, "machines", method="POST", raw_body=raw_body)

    # Then the reply is a 400 sentence saying so, and EC2 holds nothing new
    assert status == 400
    assert named in error_message(status, text).lower()
    assert cloud_resources(cloudlab_backend) == NOTHING
    assert (await api_json(jp_fetch, *API, "machines"))["machines"] == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        pytest.param({"instance_type": DROP}, "instance_type", id="missing-instance-type"),
        pytest.param({"image_id": DROP}, "image_id", id="missing-image-id"),
        pytest.param({"instance_type": 5}, "instance_type", id="instance-type-number"),
        pytest.param({"disk_gib": "100"}, "disk_gib", id="disk-string"),
        pytest.param({"disk_gib": 3}, "disk_gib", id="disk-too-small"),
        pytest.param({"disk_gib": 100000}, "disk_gib", id="disk-too-big"),
        pytest.param({"spot": "yes"}, "spot", id="spot-string"),
        pytest.param({"colour": "blue"}, "colour", id="unknown-field"),
        pytest.param({"name": "team/box"}, "name", id="name-with-slash"),
        pytest.param({"name": "b" * 70}, "name", id="name-too-long"),
        pytest.param({"idle_minutes": -1}, "idle_minutes", id="idle-negative"),
        pytest.param({"idle_minutes": 7.5}, "idle_minutes", id="idle-not-whole"),
        pytest.param({"idle_minutes": 10081}, "idle_minutes", id="idle-past-a-week"),
        pytest.param({"budget_usd": -0.5}, "budget_usd", id="budget-negative"),
        pytest.param({"budget_usd": "5"}, "budget_usd", id="budget-string"),
    ],
)
async def test_invalid_launch_field_is_named_and_nothing_is_created(
    cloudlab_backend: Any, jp_fetch: Any, changes: dict[str, Any], named: str
) -> None:
    # Given a real image, so only the changed field is wrong
    body = _launch_body(await _image_id(jp_fetch), changes)

    # When the launch is asked for
    status, text = await api_reply(jp_fetch, *API, "machines", method="POST", raw_body=body)

    # Then it is refused with a sentence naming the field, and EC2 holds nothing new
    assert status == 400
    assert named in error_message(status, text)
    assert cloud_resources(cloudlab_backend) == NOTHING
    assert (await api_json(jp_fetch, *API, "machines"))["machines"] == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        pytest.param({"instance_type": "zz.huge"}, ["zz.huge", "unknown"], id="unknown-type"),
        pytest.param({"image_id": "ami-xyz"}, ["ami-xyz", "not an ami id"], id="ami-malformed"),
        pytest.param(
            {"image_id": "not-an-ami"}, ["not-an-ami", "not an ami id"], id="not-an-ami-id"
        ),
        pytest.param(
            {"image_id": "ami-0123456789abcdef0"},
            ["ami-0123456789abcdef0", "does not exist"],
            id="ami-missing",
        ),
    ],
)
async def test_launch_the_cloud_does_not_know_is_refused_before_anything_is_created(
    cloudlab_backend: Any, jp_fetch: Any, changes: dict[str, Any], says: list[str]
) -> None:
    # Given a well-formed request naming a type or image this region does not have
    body = _launch_body(await _image_id(jp_fetch), changes)

    # When the launch is asked for
    status, text = await api_reply(jp_fetch, *API, "machines", method="POST", raw_body=body)

    # Then the reply names the culprit and what is wrong with it, and EC2 holds nothing new
    assert status == 400
    message = error_message(status, text).lower()
    for words in says:
        assert words in message, message
    assert cloud_resources(cloudlab_backend) == NOTHING
    assert (await api_json(jp_fetch, *API, "machines"))["machines"] == []


@pytest.mark.parametrize(
    ("method", "action"),
    [("GET", None), ("DELETE", None), ("POST", "stop"), ("POST", "start")],
    ids=["get", "terminate", "stop", "start"],
)
async def test_unknown_machine_is_not_found(
    cloudlab_backend: Any, jp_fetch: Any, method: str, action: str | None
) -> None:
    # Given no machine called m-0000dead
    path = [*API, "machines", "m-0000dead", *([action] if action else [])]

    # When it is asked for or acted on
    status, text = await api_reply(jp_fetch, *path, method=method)

    # Then the reply is a 404 sentence naming the id, and nothing happened in EC2
    assert status == 404
    assert "m-0000dead" in error_message(status, text)
    assert cloud_resources(cloudlab_backend) == NOTHING


async def test_action_that_does_not_fit_the_state_is_a_conflict(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, name="conflict-box")
    machine_path = [*API, "machines", machine["id"]]
    assert cloud_resources(cloudlab_backend)["instances"] == [machine["instance_id"]]

    # When it is started again
    status, text = await api_reply(jp_fetch, *machine_path, "start", method="POST")

    # Then that is a 409 saying what state it is in, and it stays ready
    assert status == 409
    assert "ready" in error_message(status, text)
    assert (await api_json(jp_fetch, *machine_path))["state"] == "ready"

    # When it is stopped, and then stopped again
    await api_json(jp_fetch, *machine_path, "stop", method="POST")
    await wait_state(jp_fetch, machine["id"], "stopped")
    status, text = await api_reply(jp_fetch, *machine_path, "stop", method="POST")

    # Then the second stop is a 409 saying it is stopped, and it stays stopped
    assert status == 409
    assert "stopped" in error_message(status, text)
    assert (await api_json(jp_fetch, *machine_path))["state"] == "stopped"


async def test_the_sandbox_keeps_its_region_and_says_why(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given the sandbox; When the settings pick another region
    status = await api_json(
        jp_fetch, *API, "account", method="PUT", body={"profile": None, "region": "eu-west-1"}
    )

    # Then the sandbox stays (same machines, same EC2), on its one region, and tells the user
    assert (status["mode"], status["region"]) == ("sandbox", "us-east-1")
    assert "eu-west-1" in status["message"] and "AWS credentials" in status["message"]
    assert (await api_json(jp_fetch, *API, "status"))["message"] == status["message"]
    assert cloudlab_backend.current.sandbox is not None
