"""Launches cut short by the server itself (issue 15), with moto's server playing AWS so that the
cloud outlives the local server: an account switch while run_instances is under way, and the
local server SIGKILLed mid-launch then started again on the same data folder.

Each ends with the machine rows the panel shows matching the cloud: no instance billed without
a row, no row without its instance, no key pair or group that no instance uses (by the sweep's
own listing and by EC2's own view). Moto runs no machines, so an adopted machine stays
`connecting` (its SSH never answers): a state the panel explains, and one a terminate ends.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.cloud.aws_client import AwsClient
from tests.helpers.call_gate import CallGate
from tests.helpers.machine_server import MachineServerProcess, start_machine_server_process
from tests.helpers.moto_cloud import COMPUTER, boto, register_image, target, write_client_key
from tests.helpers.rest_api import API, api_json
from tests.helpers.settled import assert_rows_match, sweep_listing

CALLER = "198.51.100.7/32"
SWITCH_SETTLES_SECONDS = 3.0
WAIT = 60.0
# Adopted machines in moto: on their way to SSH, which never answers.
ON_THE_WAY = ("pending", "connecting")


def _server_config(url: str, data_dir: Path, profile: str | None = None) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": True}},
        "CloudLab": {
            "mode": "aws",
            "profile": profile,
            "region": "us-east-1",
            "endpoint_url": url,
            "data_dir": str(data_dir),
            "ssh_from_cidr": CALLER,
        },
    }


@pytest.fixture
def jp_server_config(
    url: str, ec2: AwsClient, aws_profiles: None, cloudlab_data_dir: Path
) -> dict[str, Any]:
    write_client_key(cloudlab_data_dir)  # the server is the computer of PUBLIC_KEY
    return _server_config(url, cloudlab_data_dir, profile="work")


async def _assert_cloud_matches(url: str, rows: list[dict[str, Any]]) -> None:
    listing = await sweep_listing(AwsClient(target(url)), COMPUTER)
    assert_rows_match(rows, listing, boto(url))


async def test_an_account_switch_while_run_instances_is_under_way_keeps_the_machine(
    url: str, cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a launch whose run_instances is on its way to EC2 (held just before it is sent)
    image = register_image(url, "Ubuntu 24.04 test")
    old = cloudlab_backend.current
    gate = CallGate(old.ec2, "RunInstances")
    try:
        body = {"name": "switched", "instance_type": "t3.medium", "image_id": image}
        launched = await api_json(jp_fetch, *API, "machines", method="POST", body=body)
        await gate.until(gate.entered)

        # When the settings pick another profile meanwhile (the session is swapped whole)
        choice = {"profile": "lab", "region": None}
        switch = asyncio.create_task(api_json(jp_fetch, *API, "account", method="PUT", body=choice))
        # (the new session is given time to open before EC2 makes the instance)
        deadline = asyncio.get_running_loop().time() + SWITCH_SETTLES_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if cloudlab_backend.current not in (None, old):
                break
            await asyncio.sleep(0.05)
        gate.open()
        await gate.until(gate.returned)
        status = await switch
    finally:
        gate.remove()
    assert status["profile"] == "lab"

    # Then the new session shows the machine EC2 made (same id, its instance recorded), on its
    # way to SSH, and the cloud holds nothing without a row
    rows = (await api_json(jp_fetch, *API, "machines"))["machines"]
    assert [(r["id"], r["state"] in ON_THE_WAY) for r in rows] == [(launched["id"], True)], rows
    assert rows[0]["instance_id"]
    await _assert_cloud_matches(url, rows)

    # When it is terminated, Then nothing of ours is left
    await api_json(jp_fetch, *API, "machines", launched["id"], method="DELETE")
    deadline = asyncio.get_running_loop().time() + WAIT
    while (await api_json(jp_fetch, *API, "machines"))["machines"]:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.2)
    await _assert_cloud_matches(url, [])


# A config file the killed server loads besides its JSON config: run_instances is held (as a
# slow AWS would) once the key pair and group are made, and a marker says it got there.
HOLD_RUN_INSTANCES = """
import pathlib, time
from jupyter_cloudlab.cloud import aws_client

def _hold(service, operation):
    if operation == "RunInstances":
        pathlib.Path({marker!r}).write_text("held")
        time.sleep(600)

aws_client.OPERATION_OBSERVERS.append(_hold)
"""


def _start_server(root: Path, url: str, data_dir: Path, hold: Path | None) -> MachineServerProcess:
    if hold is not None:
        (root / "config").mkdir(parents=True, exist_ok=True)
        code = HOLD_RUN_INSTANCES.format(marker=str(hold))
        (root / "config" / "jupyter_server_config.py").write_text(code)
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return start_machine_server_process(root, config=_server_config(url, data_dir), env=credentials)


async def _rows(server: MachineServerProcess) -> list[dict[str, Any]]:
    """The machine rows, once the extension's session is open."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            return list((await server.fetch("GET", "cloudlab/api/machines"))["machines"])
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("when", ["before run_instances", "once EC2 shows the instance"])
async def test_a_server_killed_mid_launch_leaves_nothing_unexplained_after_its_restart(
    url: str, ec2: AwsClient, tmp_path: Path, aws_profiles: None, when: str
) -> None:
    # Given a local server (its own process) launching a machine
    data_dir = tmp_path / "data"
    write_client_key(data_dir)
    image = register_image(url, "Ubuntu 24.04 test")
    held = tmp_path / "held"
    server = _start_server(
        tmp_path / "server-1", url, data_dir, held if when == "before run_instances" else None
    )
    try:
        await _rows(server)
        body = {"name": "killed", "instance_type": "t3.medium", "image_id": image}
        launched = await server.fetch("POST", "cloudlab/api/machines", body)

        # When it is SIGKILLed at that point of the launch
        def instances() -> list[dict[str, Any]]:
            reservations = boto(url).describe_instances()["Reservations"]
            return [i for r in reservations for i in r["Instances"]]

        if when == "before run_instances":
            await _until(held.exists, "run_instances never came")
            assert instances() == []
            assert set(await sweep_listing(ec2, COMPUTER)) == {"key-pair", "security-group"}
        else:
            await _until(lambda: bool(instances()), "no instance in EC2")
    finally:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)

    # And started again on the same data folder
    server = _start_server(tmp_path / "server-2", url, data_dir, None)
    try:
        rows = await _rows(server)

        # Then the panel shows what the cloud holds: the machine EC2 made, adopted by its tags
        # (same id), or no row at all, and nothing else is left (no phantom row, no key pair
        # or group that no instance uses)
        if when == "before run_instances":
            assert rows == []
        else:
            assert [(r["id"], r["state"] in ON_THE_WAY) for r in rows] == [(launched["id"], True)]
        await _assert_cloud_matches(url, rows)

        # And a terminate ends it, leaving nothing
        for row in rows:
            await server.fetch("DELETE", f"cloudlab/api/machines/{row['id']}")
        deadline = time.monotonic() + WAIT
        while await _rows(server):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        await _assert_cloud_matches(url, [])
    finally:
        server.stop()
