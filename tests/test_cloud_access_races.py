"""The key pair and security group under concurrent flows (issue 15), against moto's EC2 over
HTTP: flows of this process take turns, a release or a close waits for launches under way, and
what another process of this computer made, changed or released a moment before is taken as
done (or made again, once), also with two real processes launching at the same moment.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import moto.settings
import pytest

from jupyter_cloudlab.cloud import access
from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.tags import tag_list
from jupyter_cloudlab.models import LaunchRequest, MachineState
from tests.helpers.call_gate import CallGate
from tests.helpers.moto_cloud import (
    COMPUTER,
    GROUP,
    OWNER,
    PUBLIC_KEY,
    boto,
    make_orchestrator,
    record_params,
    register_image,
    write_client_key,
)

CALLER = "198.51.100.7/32"
REPO = Path(__file__).resolve().parent.parent
STATE_TIMEOUT = 60
AT_ONCE = 5
# EC2 answering a describe this slowly leaves every flow time to look before any creates.
SLOW_DESCRIBE_SECONDS = 0.3


def _slow_describes(ec2: AwsClient) -> None:
    def slow(**_: Any) -> None:
        time.sleep(SLOW_DESCRIBE_SECONDS)

    for operation in ("DescribeKeyPairs", "DescribeSecurityGroups"):
        ec2.client.meta.events.register(f"after-call.ec2.{operation}", slow)


def _ours(url: str) -> tuple[list[dict[str, Any]], list[str]]:
    """EC2's own view: our security groups (whole) and our key pairs' names."""
    moto = boto(url)
    groups = moto.describe_security_groups()["SecurityGroups"]
    pairs = moto.describe_key_pairs()["KeyPairs"]
    return (
        [g for g in groups if g["GroupName"].startswith(access.SECURITY_GROUP_PREFIX)],
        [p["KeyName"] for p in pairs if p["KeyName"].startswith(access.KEY_PAIR_PREFIX)],
    )


def _rules(group: dict[str, Any]) -> list[str]:
    return [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]]


async def _state(orchestrator: Any, machine_id: str, *states: MachineState) -> Any:
    deadline = asyncio.get_running_loop().time() + STATE_TIMEOUT
    while orchestrator.get(machine_id).state not in states:
        assert asyncio.get_running_loop().time() < deadline, orchestrator.get(machine_id)
        await asyncio.sleep(0.05)
    return orchestrator.get(machine_id)


async def test_flows_of_this_process_take_turns_on_the_key_pair_and_group(
    url: str, ec2: AwsClient
) -> None:
    # Given EC2 slow to answer describes, and nothing made yet
    _slow_describes(ec2)
    imports = record_params(ec2, "ImportKeyPair")
    creates = record_params(ec2, "CreateSecurityGroup")
    rules = record_params(ec2, "AuthorizeSecurityGroupIngress")

    # When five flows of this process ensure the key pair and the group at the same moment
    async def ensure() -> tuple[str, str]:
        key = await access.ensure_key_pair(ec2, PUBLIC_KEY, OWNER)
        return key, await access.ensure_security_group(ec2, CALLER, GROUP, OWNER)

    results = await asyncio.gather(*(ensure() for _ in range(AT_ONCE)))

    # Then all get the same ones, and each was made once: they took turns, none raced
    assert len(set(results)) == 1
    assert (len(imports), len(creates), len(rules)) == (1, 1, 1)
    [group], pairs = _ours(url)
    assert _rules(group) == [CALLER] and len(pairs) == 1


async def test_a_release_or_close_waits_for_a_launch_under_way(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given a launch of this process between ensuring access and run_instances
    image = register_image(url, "Ubuntu 24.04 test")
    runs = record_params(ec2, "RunInstances")
    gate = CallGate(ec2, "RunInstances")
    orchestrator = make_orchestrator(ec2, tmp_path)
    try:
        machine = await orchestrator.launch(
            LaunchRequest(instance_type="t3.medium", image_id=image)
        )
        await gate.until(gate.entered)

        # When another flow releases what looks unused, or closes SSH as nothing runs
        released = await access.release_unused(ec2, COMPUTER)
        closed = await access.close_when_idle(ec2, COMPUTER)

        # Then neither touches the key pair, the group or its rule meanwhile
        assert (released, closed) == ([], False)
        gate.open()
        launched = await _state(orchestrator, machine.id, MachineState.connecting)
    finally:
        gate.remove()
        await orchestrator.close()
    # And the launch went through at its first run_instances, reachable over SSH
    assert len(runs) == 1
    [group], pairs = _ours(url)
    assert _rules(group) == [CALLER]
    raw = boto(url).describe_instances(InstanceIds=[launched.instance_id])
    instance = raw["Reservations"][0]["Instances"][0]
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [group["GroupId"]]
    assert pairs == [instance["KeyName"]]


@pytest.mark.parametrize("vanished", ["security group", "key pair"])
async def test_access_released_by_another_process_before_run_instances_is_made_again(
    url: str, ec2: AwsClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vanished: str
) -> None:
    # Given EC2 checking the key pair of a launch, as AWS does
    monkeypatch.setattr(moto.settings, "ENABLE_KEYPAIR_VALIDATION", True)
    image = register_image(url, "Ubuntu 24.04 test")
    other_process = boto(url)
    runs: list[int] = []

    def release_first(**_: Any) -> None:
        # Another process of this computer, seeing no instance use it, releases it just before
        # our first run_instances is sent.
        runs.append(1)
        if len(runs) > 1:
            return
        if vanished == "security group":
            [group], _pairs = _ours(url)
            other_process.delete_security_group(GroupId=group["GroupId"])
        else:
            other_process.delete_key_pair(KeyName=COMPUTER.key_pair_name)

    ec2.client.meta.events.register("before-call.ec2.RunInstances", release_first)
    orchestrator = make_orchestrator(ec2, tmp_path)

    # When a machine is launched
    machine = await orchestrator.launch(LaunchRequest(instance_type="t3.medium", image_id=image))
    launched = await _state(orchestrator, machine.id, MachineState.connecting, MachineState.failed)
    await orchestrator.close()

    # Then access is ensured again and the launch retried once, successfully
    assert launched.state is MachineState.connecting, launched.message
    assert len(runs) == 2
    [group], pairs = _ours(url)
    assert _rules(group) == [CALLER] and pairs == [COMPUTER.key_pair_name]
    instances = boto(url).describe_instances()["Reservations"]
    assert [i["InstanceId"] for r in instances for i in r["Instances"]] == [launched.instance_id]


async def test_a_key_pair_and_group_another_process_made_a_moment_before_are_used(
    url: str, ec2: AwsClient
) -> None:
    # Given another process of this computer that imports the key pair and makes the group
    # just before we do (after we looked and found none)
    other_process = boto(url)
    made: list[str] = []
    tags = tag_list(OWNER.tags())

    def import_first(**_: Any) -> None:
        other_process.import_key_pair(
            KeyName=COMPUTER.key_pair_name,
            PublicKeyMaterial=PUBLIC_KEY.encode(),
            TagSpecifications=[{"ResourceType": "key-pair", "Tags": tags}],
        )

    def create_first(**_: Any) -> None:
        made.append(
            other_process.create_security_group(
                GroupName=GROUP,
                Description="made by another process",
                TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
            )["GroupId"]
        )

    ec2.client.meta.events.register("before-call.ec2.ImportKeyPair", import_first)
    ec2.client.meta.events.register("before-call.ec2.CreateSecurityGroup", create_first)

    # When this process ensures them, Then theirs are used: no duplicate reaches the user
    assert await access.ensure_key_pair(ec2, PUBLIC_KEY, OWNER) == COMPUTER.key_pair_name
    assert await access.ensure_security_group(ec2, CALLER, GROUP, OWNER) == made[0]
    [group], pairs = _ours(url)
    assert (group["GroupId"], _rules(group), pairs) == (made[0], [CALLER], [COMPUTER.key_pair_name])


async def test_a_rule_another_process_already_added_or_revoked_is_done(
    url: str, ec2: AwsClient
) -> None:
    # Given our group, and another process that adds or revokes the same rule a moment before us
    group_id = await access.ensure_security_group(ec2, CALLER, GROUP, OWNER)
    other_process = boto(url)
    rule = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": CALLER}]}]

    def revoke_first(**_: Any) -> None:
        other_process.revoke_security_group_ingress(GroupId=group_id, IpPermissions=rule)

    def authorize_first(**_: Any) -> None:
        other_process.authorize_security_group_ingress(GroupId=group_id, IpPermissions=rule)

    ec2.client.meta.events.register("before-call.ec2.RevokeSecurityGroupIngress", revoke_first)
    ec2.client.meta.events.register(
        "before-call.ec2.AuthorizeSecurityGroupIngress", authorize_first
    )

    # When nothing runs (SSH closes), Then the rule already gone is done
    assert await access.close_when_idle(ec2, COMPUTER)
    assert _rules(_ours(url)[0][0]) == []
    # When a launch opens SSH again, Then the rule already there is done
    assert await access.ensure_security_group(ec2, CALLER, GROUP, OWNER) == group_id
    assert _rules(_ours(url)[0][0]) == [CALLER]


def test_two_processes_of_one_computer_launch_at_once(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given two processes of this computer (a JupyterLab and the CLI: two data folders holding
    # the same SSH key), EC2 slow to answer describes, and nothing made yet
    image = register_image(url, "Ubuntu 24.04 test")
    folders = [tmp_path / "jupyterlab", tmp_path / "cli"]
    processes = []
    for folder in folders:
        write_client_key(folder)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.helpers.launch_process",
                    url,
                    str(folder),
                    image,
                    str(SLOW_DESCRIBE_SECONDS),
                ],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"

        # When both launch at the same moment
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        machines = []
        for process in processes:
            assert process.stdout is not None
            machines.append(json.loads(process.stdout.readline()))
    finally:
        for process in processes:
            process.kill()
            process.wait()

    # Then both launches succeed, with one key pair and one group holding one rule
    assert all(m["state"] in ("pending", "connecting") for m in machines), machines
    [group], pairs = _ours(url)
    assert _rules(group) == [CALLER]
    assert pairs == [COMPUTER.key_pair_name]
    reservations = boto(url).describe_instances()["Reservations"]
    instances = {i["InstanceId"]: i for r in reservations for i in r["Instances"]}
    assert set(instances) == {m["instance_id"] for m in machines}
    for instance in instances.values():
        assert [g["GroupId"] for g in instance["SecurityGroups"]] == [group["GroupId"]]
        assert instance["KeyName"] == COMPUTER.key_pair_name
