"""End to end through the real parts: moto's EC2 API over HTTP, OpenSSH's sshd as the machine,
the real bootstrap and the machine's jupyter server, the local server mixing kernels."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyter_cloudlab.cloud.tags import OWNER_TAG, OWNER_VALUE
from tests.helpers.kernel_channel import run_in_new_kernel
from tests.helpers.rest_api import READY_TIMEOUT
from tests.helpers.rest_api import api_json as _json
from tests.helpers.rest_api import wait_state as _wait_state
from tests.helpers.sandbox_ec2 import moto_state as _moto_state

WHERE_AM_I = "import os; print(os.path.expanduser('~'))"


async def test_launch_use_stop_start_terminate(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    # Given the sandbox's catalog and a local kernel that runs the whole time
    images = (await _json(jp_fetch, "cloudlab", "api", "catalog", "images"))["images"]
    image = next(i for i in images if i["family"] == "deep-learning")
    local_home = await run_in_new_kernel(jp_fetch, jp_ws_fetch, "python3", WHERE_AM_I)
    assert local_home == os.path.expanduser("~")  # noqa: ASYNC240

    # When a machine is launched
    launched = await _json(
        jp_fetch,
        "cloudlab",
        "api",
        "machines",
        method="POST",
        body={"name": "e2e-box", "instance_type": "g5.xlarge", "image_id": image["id"]},
    )
    assert launched["state"] == "requesting"
    machine = await _wait_state(jp_fetch, launched["id"], "ready")

    # Then its kernel is listed beside the local one, named after the machine
    specs = (await _json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
    remote_name = f"cloudlab.{machine['id']}.python3"
    assert machine["kernelspecs"] == [remote_name]
    assert "python3" in specs
    assert "e2e-box" in specs[remote_name]["spec"]["display_name"]
    assert "A10G" in specs[remote_name]["spec"]["display_name"]

    # And code in it runs on the machine: its home is the machine's, not this computer's
    machine_home = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"]
    remote_home = await run_in_new_kernel(jp_fetch, jp_ws_fetch, remote_name, WHERE_AM_I)
    assert remote_home == str(machine_home / "home" / "ubuntu")
    assert remote_home != local_home
    assert _moto_state(cloudlab_backend, machine["instance_id"]) == "running"
    first_address = machine["address"]

    # And a notebook session on it can be renamed, as JupyterLab does when it opens one
    session = await _json(
        jp_fetch,
        "api",
        "sessions",
        method="POST",
        body={
            "path": "a.ipynb",
            "type": "notebook",
            "name": "a.ipynb",
            "kernel": {"name": remote_name},
        },
    )
    renamed = await _json(
        jp_fetch,
        "api",
        "sessions",
        session["id"],
        method="PATCH",
        body={"path": "b.ipynb", "name": "b.ipynb"},
    )
    assert renamed["path"] == "b.ipynb" and renamed["kernel"]["name"] == remote_name

    # When it is stopped
    await _json(jp_fetch, "cloudlab", "api", "machines", machine["id"], "stop", method="POST")
    stopped = await _wait_state(jp_fetch, machine["id"], "stopped")

    # Then EC2 says stopped, and its kernelspecs and kernels are gone from the local server
    assert _moto_state(cloudlab_backend, machine["instance_id"]) == "stopped"
    assert stopped["kernelspecs"] == []
    specs = (await _json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
    assert remote_name not in specs and "python3" in specs
    kernels = await _json(jp_fetch, "api", "kernels")
    assert all(not k["name"].startswith("cloudlab.") for k in kernels)

    # When it is started again, it is reconnected at its new address and runs code again
    await _json(jp_fetch, "cloudlab", "api", "machines", machine["id"], "start", method="POST")
    restarted = await _wait_state(jp_fetch, machine["id"], "ready")
    assert restarted["address"] != first_address
    assert await run_in_new_kernel(jp_fetch, jp_ws_fetch, remote_name, WHERE_AM_I) == remote_home
    assert await run_in_new_kernel(jp_fetch, jp_ws_fetch, "python3", WHERE_AM_I) == local_home

    # When it is terminated, EC2 forgets it and so does the API
    await _json(jp_fetch, "cloudlab", "api", "machines", machine["id"], method="DELETE")
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while (await _json(jp_fetch, "cloudlab", "api", "machines"))["machines"]:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.3)
    assert _moto_state(cloudlab_backend, machine["instance_id"]) == "terminated"
    specs = (await _json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
    assert "python3" in specs
    assert not [name for name in specs if name.startswith("cloudlab.")]


async def test_launch_is_tagged_and_locked_down(cloudlab_backend: Any, jp_fetch: Any) -> None:
    # Given an image; When a machine is launched
    images = (await _json(jp_fetch, "cloudlab", "api", "catalog", "images"))["images"]
    launched = await _json(
        jp_fetch,
        "cloudlab",
        "api",
        "machines",
        method="POST",
        body={"instance_type": "t3.medium", "image_id": images[0]["id"]},
    )
    machine = await _wait_state(jp_fetch, launched["id"], "ready")
    # Then AWS received our tags, IMDSv2 and stop-on-shutdown, and SSH open to one address only
    ec2 = cloudlab_backend.current.ec2
    raw = (await ec2.call("describe_instances", InstanceIds=[machine["instance_id"]]))[
        "Reservations"
    ][0]["Instances"][0]
    tags = {t["Key"]: t["Value"] for t in raw["Tags"]}
    assert tags[OWNER_TAG] == OWNER_VALUE and tags["Name"] == "t3.medium"
    assert raw["MetadataOptions"]["HttpTokens"] == "required"
    attribute = await ec2.call(
        "describe_instance_attribute",
        InstanceId=machine["instance_id"],
        Attribute="instanceInitiatedShutdownBehavior",
    )
    assert attribute["InstanceInitiatedShutdownBehavior"]["Value"] == "stop"
    group_id = raw["SecurityGroups"][0]["GroupId"]
    group = (await ec2.call("describe_security_groups", GroupIds=[group_id]))["SecurityGroups"][0]
    ranges = [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]]
    assert ranges == ["127.0.0.1/32"]
    key_file = cloudlab_backend.current.options.data_folder.client_key
    assert key_file.stat().st_mode & 0o777 == 0o600
