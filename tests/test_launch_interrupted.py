"""A launch cut short (issue 15), against moto's EC2 over HTTP: a run_instances reply lost on
its way back does not leave an instance billing without its row, a server killed before
run_instances leaves no key pair or group behind once it starts again, and a machine's new
command runs only once the flow it cancelled has ended.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from botocore.exceptions import ReadTimeoutError

from jupyter_cloudlab.cloud import access
from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.models import LaunchRequest, MachineState
from tests.helpers.moto_cloud import (
    GROUP,
    OWNER,
    PUBLIC_KEY,
    boto,
    inject_error,
    make_orchestrator,
    register_image,
)

CALLER = "198.51.100.7/32"
STATE_TIMEOUT = 60


def _ours(url: str) -> tuple[list[str], list[str]]:
    """EC2's own view: our security groups' ids and our key pairs' names."""
    moto = boto(url)
    groups = moto.describe_security_groups()["SecurityGroups"]
    pairs = moto.describe_key_pairs()["KeyPairs"]
    return (
        [g["GroupId"] for g in groups if g["GroupName"].startswith(access.SECURITY_GROUP_PREFIX)],
        [p["KeyName"] for p in pairs if p["KeyName"].startswith(access.KEY_PAIR_PREFIX)],
    )


async def _state(orchestrator: Any, machine_id: str, *states: MachineState) -> Any:
    deadline = asyncio.get_running_loop().time() + STATE_TIMEOUT
    while orchestrator.get(machine_id).state not in states:
        assert asyncio.get_running_loop().time() < deadline, orchestrator.get(machine_id)
        await asyncio.sleep(0.05)
    return orchestrator.get(machine_id)


async def _until_gone(orchestrator: Any, machine_id: str) -> None:
    deadline = asyncio.get_running_loop().time() + STATE_TIMEOUT
    while machine_id in {m.id for m in orchestrator.list()}:
        assert asyncio.get_running_loop().time() < deadline, orchestrator.get(machine_id)
        await asyncio.sleep(0.05)


async def test_a_lost_run_instances_reply_does_not_leave_an_instance_without_its_row(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given EC2 making the instance but its reply lost on the way back (a read timeout)
    image = register_image(url, "Ubuntu 24.04 test")
    lost: list[int] = []

    def lose_reply(**_: Any) -> None:
        if not lost:
            lost.append(1)
            raise ReadTimeoutError(endpoint_url=url)

    ec2.client.meta.events.register("after-call.ec2.RunInstances", lose_reply)
    orchestrator = make_orchestrator(ec2, tmp_path)

    # When a machine is launched
    machine = await orchestrator.launch(LaunchRequest(instance_type="t3.medium", image_id=image))
    launched = await _state(orchestrator, machine.id, MachineState.connecting, MachineState.failed)
    await orchestrator.close()

    # Then the instance EC2 made is the machine's (found by its machine id), not a stray
    reservations = boto(url).describe_instances()["Reservations"]
    [instance] = [i for r in reservations for i in r["Instances"]]
    assert lost == [1]
    assert (launched.state, launched.instance_id) == (
        MachineState.connecting,
        instance["InstanceId"],
    )


async def test_a_terminate_finds_the_instance_of_a_launch_whose_reply_was_lost(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given a launch shown failed although EC2 made its instance: the reply was lost and so
    # was the look for it
    image = register_image(url, "Ubuntu 24.04 test")

    def lose_reply(**_: Any) -> None:
        inject_error(ec2, "DescribeInstances", "InternalError", "try later", times=1)
        raise ReadTimeoutError(endpoint_url=url)

    ec2.client.meta.events.register("after-call.ec2.RunInstances", lose_reply)
    orchestrator = make_orchestrator(ec2, tmp_path)
    machine = await orchestrator.launch(LaunchRequest(instance_type="t3.medium", image_id=image))
    failed = await _state(orchestrator, machine.id, MachineState.failed)
    assert failed.instance_id is None and "timeout" in (failed.message or "").lower()
    ec2.client.meta.events.unregister("after-call.ec2.RunInstances", lose_reply)

    # When the user terminates it
    await orchestrator.terminate(machine.id)
    await _until_gone(orchestrator, machine.id)
    await orchestrator.close()

    # Then the instance is found by its machine id and terminated: none is left billing
    reservations = boto(url).describe_instances()["Reservations"]
    assert [i["State"]["Name"] for r in reservations for i in r["Instances"]] == ["terminated"]
    assert _ours(url) == ([], [])


async def test_a_start_releases_what_a_server_killed_before_run_instances_left(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given a key pair and group made by a launch whose server was killed before run_instances
    await access.ensure_key_pair(ec2, PUBLIC_KEY, OWNER)
    await access.ensure_security_group(ec2, CALLER, GROUP, OWNER)
    assert _ours(url) != ([], [])

    # When the server starts again (it reconciles with the cloud)
    orchestrator = make_orchestrator(ec2, tmp_path)
    await orchestrator.reconcile()
    await orchestrator.close()

    # Then nothing that no instance uses is left
    assert _ours(url) == ([], [])


async def test_a_machine_s_new_flow_starts_once_the_cancelled_one_has_cleaned_up(
    ec2: AwsClient, tmp_path: Path
) -> None:
    # Given a machine's flow whose cancellation takes a moment to clean up
    orchestrator = make_orchestrator(ec2, tmp_path)
    steps: list[str] = []

    async def first() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # e.g. closing an SSH link
            steps.append("first cleaned up")
            raise

    async def second() -> None:
        steps.append("second started")

    orchestrator._flows.run("m-0000f10e", first())
    await asyncio.sleep(0.05)

    # When a new command's flow replaces it
    orchestrator._flows.run("m-0000f10e", second())
    await asyncio.sleep(0.5)
    await orchestrator.close()

    # Then the new flow ran only after the cancelled one had finished
    assert steps == ["first cleaned up", "second started"]
