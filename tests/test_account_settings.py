"""The AWS profile and region picked in JupyterLab's settings (PUT /cloudlab/api/account).

Against moto's server as "AWS", with profiles in an AWS config file of the test's own: a region
switch shows that region's machines, and a machine seen once stays listed after switching back.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.cloud import access, instances
from jupyter_cloudlab.cloud.aws_client import AwsClient
from tests.helpers.moto_cloud import (
    OWNER,
    PUBLIC_KEY,
    register_image,
    spec,
    target,
    write_client_key,
)
from tests.helpers.rest_api import API, api_json, api_reply, error_message

AWAY = "eu-west-1"


@pytest.fixture
def jp_server_config(
    url: str, ec2: AwsClient, aws_profiles: None, cloudlab_data_dir: Path
) -> dict[str, Any]:
    write_client_key(cloudlab_data_dir)  # the server is the computer of PUBLIC_KEY
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": True}},
        "CloudLab": {
            "mode": "aws",
            "profile": "work",
            "region": "us-east-1",
            "endpoint_url": url,
            "data_dir": str(cloudlab_data_dir),
        },
    }


async def _stopped_machine_in(url: str, region: str) -> str:
    away = AwsClient(target(url, region))
    image = register_image(url, "Ubuntu 24.04 test", region=region)
    key_name = await access.ensure_key_pair(away, PUBLIC_KEY, OWNER)
    group = await access.ensure_security_group(
        away, "198.51.100.7/32", "jupyter-cloudlab-ssh-t", OWNER
    )
    info = await instances.launch(
        away, spec(image, machine_id="m-a0a00001", key_name=key_name, security_group_id=group)
    )
    await instances.wait_running(away, info.instance_id)
    await instances.stop(away, info.instance_id)
    return info.instance_id


async def _choose(jp_fetch: Any, profile: str | None, region: str | None) -> Any:
    body = {"profile": profile, "region": region}
    return await api_json(jp_fetch, *API, "account", method="PUT", body=body)


async def test_a_region_switch_shows_its_machines_and_keeps_them_after(
    url: str, cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a stopped machine of ours in another region than the server's
    instance_id = await _stopped_machine_in(url, AWAY)
    assert (await api_json(jp_fetch, *API, "machines"))["machines"] == []

    # When the settings pick that region
    status = await _choose(jp_fetch, "work", AWAY)

    # Then the server works there, and lists that machine as EC2 reports it
    assert (status["mode"], status["region"], status["profile"]) == ("aws", AWAY, "work")
    [machine] = (await api_json(jp_fetch, *API, "machines"))["machines"]
    assert (machine["instance_id"], machine["region"], machine["state"]) == (
        instance_id,
        AWAY,
        "stopped",
    )
    assert (await api_json(jp_fetch, *API, "status"))["region"] == AWAY

    # When the settings are cleared (back to the server's own region)
    status = await _choose(jp_fetch, None, None)

    # Then launches go to us-east-1 again, and the machine seen in eu-west-1 stays listed
    assert status["region"] == "us-east-1"
    machines = (await api_json(jp_fetch, *API, "machines"))["machines"]
    assert [m["instance_id"] for m in machines] == [instance_id]


async def test_a_profile_switch_is_applied_and_repeating_it_changes_nothing(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # When another profile is picked
    status = await _choose(jp_fetch, "lab", None)

    # Then it is used; picking it again does not reconnect anything
    assert (status["mode"], status["profile"]) == ("aws", "lab")
    orchestrator = cloudlab_backend.current.orchestrator
    await asyncio.gather(_choose(jp_fetch, "lab", None), _choose(jp_fetch, "lab", None))
    assert cloudlab_backend.current.orchestrator is orchestrator


@pytest.mark.parametrize(
    ("choice", "sentence"),
    [
        (
            {"profile": "ghost", "region": None},
            "no AWS profile named 'ghost' (known profiles: lab, work)",
        ),
        ({"profile": None, "region": "xx-nowhere-9"}, "'xx-nowhere-9' is not an EC2 region"),
        ({"profile": None, "region": "Paris"}, "region"),
        ({"profile": "work", "extra": 1}, "extra"),
    ],
)
async def test_a_bad_choice_is_refused_with_a_sentence_and_nothing_changes(
    cloudlab_backend: Any, jp_fetch: Any, choice: dict[str, Any], sentence: str
) -> None:
    # When the settings name something that does not exist
    status, text = await api_reply(
        jp_fetch, *API, "account", method="PUT", raw_body=json.dumps(choice)
    )

    # Then it is a 400 that says what is wrong, and the server keeps its account
    assert status == 400
    assert sentence in error_message(status, text)
    current = await api_json(jp_fetch, *API, "status")
    assert (current["profile"], current["region"]) == ("work", "us-east-1")
