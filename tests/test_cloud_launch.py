"""Launch as AWS receives it, against moto's EC2 over HTTP: IMDSv2, tags on every resource, the
SSH rule is one /32, disks, spot, an idempotent retry, and nothing left behind by a failure."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.cloud import access, instances
from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.tags import (
    COMPUTER_TAG,
    MACHINE_ID_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    PRINCIPAL_TAG,
    SSH_USER_TAG,
)
from jupyter_cloudlab.handlers.errors import http_error
from jupyter_cloudlab.models import LaunchRequest, MachineState
from tests.helpers.moto_cloud import (
    COMPUTER,
    GROUP,
    OWNER,
    PRINCIPAL,
    PUBLIC_KEY,
    boto,
    inject_error,
    make_orchestrator,
    record_params,
    register_image,
    spec,
)

CALLER = "198.51.100.7/32"
STATE_TIMEOUT = 120


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", resource.get("TagSet", []))}


async def _launch(ec2: AwsClient, image: str, **overrides: Any) -> instances.InstanceInfo:
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY, OWNER)
    group = await access.ensure_security_group(ec2, CALLER, GROUP, OWNER)
    return await instances.launch(
        ec2, spec(image, key_name=key, security_group_id=group, **overrides)
    )


async def test_launch_parameters_as_aws_records_them(url: str, ec2: AwsClient) -> None:
    # Given an image and the parameters our client sends
    image = register_image(url, "Ubuntu 24.04 test")
    sent = record_params(ec2, "RunInstances")
    # When a machine is launched with a 40 GiB gp2 disk
    info = await _launch(ec2, image, disk_gib=40, disk_type="gp2", ssh_user="admin")
    raw = boto(url).describe_instances(InstanceIds=[info.instance_id])
    instance = raw["Reservations"][0]["Instances"][0]
    # Then IMDSv2 is required and instance metadata tags are on
    metadata = instance["MetadataOptions"]
    assert metadata["HttpTokens"] == "required"
    assert metadata["InstanceMetadataTags"] == "enabled"
    # And a shutdown from inside stops the machine (idle stop keeps the disk)
    behaviour = boto(url).describe_instance_attribute(
        InstanceId=info.instance_id, Attribute="instanceInitiatedShutdownBehavior"
    )
    assert behaviour["InstanceInitiatedShutdownBehavior"]["Value"] == "stop"
    # And the instance carries our tags (whose: this computer's, this principal's), the machine
    # id and the SSH user
    ours = {OWNER_TAG: OWNER_VALUE, COMPUTER_TAG: COMPUTER.digest, PRINCIPAL_TAG: PRINCIPAL}
    tags = _tags(instance)
    assert ours.items() <= tags.items() and tags[MACHINE_ID_TAG] == "m-7e570001"
    assert tags[SSH_USER_TAG] == "admin" and info.ssh_user == "admin"
    # And its root volume has the size and type asked for, and the same tags
    [volume] = boto(url).describe_volumes()["Volumes"]
    assert (volume["Size"], volume["VolumeType"]) == (40, "gp2")
    assert ours.items() <= _tags(volume).items()
    # And the request tagged the network interface too, with a ClientToken (moto drops ENI tags)
    [request] = sent
    kinds = {s["ResourceType"] for s in request["TagSpecifications"]}
    assert kinds == {"instance", "volume", "network-interface"}
    assert all(ours.items() <= _tags(s).items() for s in request["TagSpecifications"])
    assert request["ClientToken"] == "m-7e570001"
    assert "InstanceMarketOptions" not in request
    # And the key pair (this computer's) and the security group are ours by tag too
    assert info.key_name == COMPUTER.key_pair_name
    [pair] = boto(url).describe_key_pairs(KeyNames=[info.key_name or ""])["KeyPairs"]
    assert ours.items() <= _tags(pair).items()
    [group] = boto(url).describe_security_groups(GroupIds=list(info.security_group_ids))[
        "SecurityGroups"
    ]
    assert ours.items() <= _tags(group).items()


async def test_ssh_rule_is_the_callers_32_and_follows_it(url: str, ec2: AwsClient) -> None:
    # Given our group for one address
    group_id = await access.ensure_security_group(ec2, CALLER, GROUP, OWNER)

    def rules() -> list[tuple[int, str]]:
        [group] = boto(url).describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        return [(p["FromPort"], r["CidrIp"]) for p in group["IpPermissions"] for r in p["IpRanges"]]

    # Then SSH is open from that /32 only (never 0.0.0.0/0)
    assert rules() == [(22, CALLER)]
    # When this computer's address changes, Then the old /32 is revoked and the new one allowed
    assert await access.ensure_security_group(ec2, "203.0.113.9/32", GROUP, OWNER) == group_id
    assert rules() == [(22, "203.0.113.9/32")]
    # And asking again changes nothing
    await access.ensure_security_group(ec2, "203.0.113.9/32", GROUP, OWNER)
    assert rules() == [(22, "203.0.113.9/32")]


async def test_spot_one_time_and_persistent(url: str, ec2: AwsClient) -> None:
    image = register_image(url, "Ubuntu 24.04 test")
    sent = record_params(ec2, "RunInstances")
    one_time = await _launch(ec2, image, spot=True, machine_id="m-5b070001")
    persistent = await _launch(ec2, image, spot=True, spot_persistent=True, machine_id="m-5b070002")
    assert one_time.spot and persistent.spot  # moto marks them InstanceLifecycle=spot
    options = [s["InstanceMarketOptions"] for s in sent]
    assert options[0] == {"MarketType": "spot", "SpotOptions": {"SpotInstanceType": "one-time"}}
    assert options[1]["SpotOptions"] == {
        "SpotInstanceType": "persistent",
        "InstanceInterruptionBehavior": "stop",
    }
    # And the spot request is ours by tag too (what may cancel it is checked on that tag)
    for request in sent:
        [spot_tags] = [
            s for s in request["TagSpecifications"] if s["ResourceType"] == "spot-instances-request"
        ]
        assert _tags(spot_tags)[COMPUTER_TAG] == COMPUTER.digest


async def test_a_retried_launch_never_makes_two_machines(url: str, ec2: AwsClient) -> None:
    # Given a launch whose RunInstances is throttled twice before it goes through
    image = register_image(url, "Ubuntu 24.04 test")
    attempts = inject_error(ec2, "RunInstances", "RequestLimitExceeded", times=2)
    first = await _launch(ec2, image)
    assert len(attempts) == 3
    # When the same machine is launched again (the reply was lost, the user clicked twice)
    again = await _launch(ec2, image)
    # Then there is still exactly one instance, the same one
    reservations = boto(url).describe_instances()["Reservations"]
    assert [i["InstanceId"] for r in reservations for i in r["Instances"]] == [first.instance_id]
    assert again.instance_id == first.instance_id


async def _wait_state(orchestrator: Any, machine_id: str, *states: MachineState) -> Any:
    deadline = asyncio.get_running_loop().time() + STATE_TIMEOUT
    while orchestrator.get(machine_id).state not in states:
        assert asyncio.get_running_loop().time() < deadline, orchestrator.get(machine_id)
        await asyncio.sleep(0.1)
    return orchestrator.get(machine_id)


async def test_a_failed_launch_leaves_nothing_behind(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given AWS refusing the launch for lack of capacity, after our key and group were made
    image = register_image(url, "Ubuntu 24.04 test")
    inject_error(ec2, "RunInstances", "InsufficientInstanceCapacity", "no capacity", times=99)
    orchestrator = make_orchestrator(ec2, tmp_path)
    # When a machine is launched through the orchestrator
    machine = await orchestrator.launch(
        LaunchRequest(name="doomed", instance_type="g5.xlarge", image_id=image)
    )
    failed = await _wait_state(orchestrator, machine.id, MachineState.failed)
    await orchestrator.close()
    # Then the user reads what to do
    assert "capacity" in failed.message and "another instance type" in failed.message
    # And no instance, security group or key pair of ours is left
    moto = boto(url)
    assert moto.describe_instances()["Reservations"] == []
    groups = moto.describe_security_groups()["SecurityGroups"]
    assert [g for g in groups if g["GroupName"].startswith(access.SECURITY_GROUP_PREFIX)] == []
    pairs = moto.describe_key_pairs()["KeyPairs"]
    assert [p for p in pairs if p["KeyName"].startswith(access.KEY_PAIR_PREFIX)] == []


async def test_bad_input_creates_nothing(url: str, ec2: AwsClient, tmp_path: Path) -> None:
    # Given an arm64 image (Amazon Linux 2023, through its public SSM parameter) and x86_64 type
    parameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    image = boto(url, "ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    orchestrator = make_orchestrator(ec2, tmp_path)
    # When launching, Then it is refused at once with a sentence, before anything is created
    with pytest.raises(Exception, match="arm64") as raised:
        await orchestrator.launch(LaunchRequest(instance_type="t3.medium", image_id=image))
    assert http_error(raised.value).status_code == 400
    with pytest.raises(Exception, match="does not exist"):
        await orchestrator.launch(
            LaunchRequest(instance_type="t3.medium", image_id="ami-0123456789abcdef0")
        )
    with pytest.raises(Exception, match="Unknown instance type"):
        await orchestrator.launch(LaunchRequest(instance_type="zz9.huge", image_id=image))
    assert orchestrator.list() == []
    assert boto(url).describe_instances()["Reservations"] == []
    assert boto(url).describe_key_pairs()["KeyPairs"] == []


def test_launch_request_fields_for_disk_spot_and_login() -> None:
    request = LaunchRequest(
        instance_type="g5.xlarge",
        image_id="ami-0123456789abcdef0",
        disk_type="io2",
        spot=True,
        spot_persistent=True,
        ssh_user="admin",
    )
    assert (request.disk_type, request.spot_persistent, request.ssh_user) == ("io2", True, "admin")
    assert LaunchRequest(instance_type="t3.medium", image_id="ami-0123456789abcdef0").disk_type == (
        "gp3"
    )
    for bad in ({"disk_type": "st1"}, {"ssh_user": "root; rm -rf /"}, {"spot_persistent": "yes"}):
        with pytest.raises(ValueError):
            LaunchRequest(instance_type="t3.medium", image_id="ami-0123456789abcdef0", **bad)
