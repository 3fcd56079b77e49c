"""Whose machines: ownership is per computer and checked on tags AND our key pair, against moto's
EC2 over HTTP shared by several "computers" (client keys) and by someone else of the account.

- an instance planted with copies of our tags (another key pair, or no computer tag) is neither
  adopted by the server nor listed by the CLI;
- a malformed or duplicated machine id is ignored, with a warning;
- sweep and release on computer A leave computer B's key pair, security group and instance
  alone; `sweep --all-computers` removes both.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from jupyter_cloudlab import cli
from jupyter_cloudlab.cloud import access, instances
from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.tags import (
    COMPUTER_TAG,
    MACHINE_ID_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    Computer,
    Owner,
)
from jupyter_cloudlab.models import MachineState
from jupyter_cloudlab.ssh.client_key import public_key_line
from tests.helpers.moto_cloud import (
    COMPUTER,
    OWNER,
    PUBLIC_KEY,
    boto,
    make_orchestrator,
    register_image,
    spec,
    write_client_key,
)

CALLER = "198.51.100.7/32"
OUR_MACHINE = "m-0a1b2c3d"


@pytest.fixture(autouse=True)
def terminal_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's credentials (moto accepts any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


class OtherComputer:
    """Another computer of the same account: its own client key, data folder and owner."""

    def __init__(self, data_dir: Path, principal: str = "AIDAOTHERCOMPUTER") -> None:
        self.key = asyncssh.generate_private_key("ssh-ed25519", comment="b")
        self.public_key = public_key_line(self.key)
        self.computer = Computer.of(self.public_key)
        self.owner = Owner(self.computer, principal)
        self.data_dir = data_dir
        write_client_key(data_dir, self.key)


async def _prepare(ec2: AwsClient, public_key: str, owner: Owner) -> tuple[str, str]:
    """The key pair and security group a launch makes first (what a launch under way has)."""
    key_name = await access.ensure_key_pair(ec2, public_key, owner)
    group = await access.ensure_security_group(
        ec2, CALLER, owner.computer.security_group_name, owner
    )
    return key_name, group


async def _launch(
    ec2: AwsClient,
    image: str,
    machine_id: str,
    public_key: str = PUBLIC_KEY,
    owner: Owner = OWNER,
) -> instances.InstanceInfo:
    key_name, group = await _prepare(ec2, public_key, owner)
    info = await instances.launch(
        ec2,
        spec(
            image,
            machine_id=machine_id,
            name=machine_id,
            key_name=key_name,
            security_group_id=group,
            owner=owner,
        ),
    )
    return await instances.wait_running(ec2, info.instance_id)


def _plant(url: str, image: str, tags: dict[str, str], key_name: str | None = None) -> str:
    """An instance someone else of the account launches, with tags of their choosing."""
    extra: dict[str, Any] = {"KeyName": key_name} if key_name else {}
    reply = boto(url).run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ],
        **extra,
    )
    return str(reply["Instances"][0]["InstanceId"])


async def _cli(url: str, data_dir: Path, *args: str) -> int:
    """`jupyter cloudlab <args>` in a terminal of the computer whose data folder this is."""
    command = [*args, "--endpoint-url", url, "--data-dir", str(data_dir)]
    return await asyncio.to_thread(cli.main, command)


def _stop_all(url: str, instance_ids: list[str]) -> None:
    moto = boto(url)
    moto.stop_instances(InstanceIds=instance_ids)
    moto.get_waiter("instance_stopped").wait(
        InstanceIds=instance_ids, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )


async def test_a_planted_instance_is_neither_adopted_nor_listed(
    url: str, ec2: AwsClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a machine of ours
    image = register_image(url, "Ubuntu 24.04 test")
    ours = await _launch(ec2, image, OUR_MACHINE)
    # And, from someone else of the account, copies of its tags with their own key pair: one
    # without our computer tag, one with a copy of it too
    boto(url).import_key_pair(
        KeyName="planted", PublicKeyMaterial=OtherComputer(tmp_path / "x").public_key.encode()
    )
    copied = {OWNER_TAG: OWNER_VALUE, MACHINE_ID_TAG: OUR_MACHINE, "Name": OUR_MACHINE}
    no_computer = _plant(url, image, copied, key_name="planted")
    other_key = _plant(url, image, {**copied, COMPUTER_TAG: COMPUTER.digest}, key_name="planted")
    no_key = _plant(url, image, {**copied, COMPUTER_TAG: COMPUTER.digest})
    planted = [no_computer, other_key, no_key]
    _stop_all(url, [ours.instance_id, *planted])  # stopped: nothing to connect to in moto

    # When a server of this computer starts over the account (no local cache)
    data_dir = tmp_path / "fresh"
    orchestrator = make_orchestrator(ec2, data_dir)
    await orchestrator.reconcile()
    await orchestrator.close()
    # Then it adopts our machine, as the instance we launched, and none of the planted ones
    [machine] = orchestrator.list()
    assert (machine.id, machine.instance_id) == (OUR_MACHINE, ours.instance_id)
    assert machine.state is MachineState.stopped

    # When the machines are listed in a terminal of this computer
    capsys.readouterr()
    assert await _cli(url, data_dir, "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    # Then only ours is there
    assert [(m["machine_id"], m["instance_id"]) for m in listed] == [
        (OUR_MACHINE, ours.instance_id)
    ]
    # And a command naming the machine acts on ours, never on a planted one
    assert await _cli(url, data_dir, "start", OUR_MACHINE) == 0
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in boto(url).describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    assert states[ours.instance_id] == "running"
    assert {states[i] for i in planted} == {"stopped"}


async def test_malformed_or_duplicated_machine_ids_are_ignored_with_a_warning(
    url: str, ec2: AwsClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a machine of ours, and instances with our tags and our key pair but a malformed
    # machine id, none, or a machine id that two of them claim
    image = register_image(url, "Ubuntu 24.04 test")
    good = await _launch(ec2, image, OUR_MACHINE)
    ours = {OWNER_TAG: OWNER_VALUE, COMPUTER_TAG: COMPUTER.digest}
    key = COMPUTER.key_pair_name
    malformed = _plant(url, image, {**ours, MACHINE_ID_TAG: "m-../../etc"}, key_name=key)
    missing = _plant(url, image, ours, key_name=key)
    twins = [_plant(url, image, {**ours, MACHINE_ID_TAG: "m-deadbeef"}, key_name=key)]
    twins.append(_plant(url, image, {**ours, MACHINE_ID_TAG: "m-deadbeef"}, key_name=key))

    # When this computer looks for its machines
    with caplog.at_level(logging.WARNING, logger="jupyter_cloudlab.cloud.instances"):
        found = await instances.find_ours(ec2, COMPUTER)
    # Then it finds the good one only
    assert [i.instance_id for i in found] == [good.instance_id]
    # And says why each other one is ignored
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    assert malformed in warnings and "'m-../../etc'" in warnings and "malformed" in warnings
    assert missing in warnings
    assert all(twin in warnings for twin in twins) and "m-deadbeef" in warnings

    # And a server of this computer adopts the good one only
    _stop_all(url, [good.instance_id, malformed, missing, *twins])
    orchestrator = make_orchestrator(ec2, tmp_path / "server")
    await orchestrator.reconcile()
    await orchestrator.close()
    assert [m.instance_id for m in orchestrator.list()] == [good.instance_id]

    # When one of the twins is gone, Then the other is a machine again (one claim, one machine)
    boto(url).terminate_instances(InstanceIds=[twins[0]])
    found = await instances.find_ours(ec2, COMPUTER)
    assert sorted(i.instance_id for i in found) == sorted([good.instance_id, twins[1]])


def _exists(url: str) -> dict[str, set[str]]:
    """What EC2 holds: live instances, security group ids, key pair names."""
    moto = boto(url)
    reservations = moto.describe_instances()["Reservations"]
    return {
        "instances": {
            i["InstanceId"]
            for r in reservations
            for i in r["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")
        },
        "groups": {g["GroupId"] for g in moto.describe_security_groups()["SecurityGroups"]},
        "pairs": {p["KeyName"] for p in moto.describe_key_pairs()["KeyPairs"]},
    }


async def test_release_and_sweep_on_one_computer_leave_the_other_alone(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given computer A (this one) with a machine, and computer B of the same account with its
    # machine
    image = register_image(url, "Ubuntu 24.04 test")
    a_dir = tmp_path / "a"
    write_client_key(a_dir)
    b = OtherComputer(tmp_path / "b")
    mine = await _launch(ec2, image, OUR_MACHINE)
    theirs = await _launch(ec2, image, "m-0b0b0b0b", b.public_key, b.owner)
    b_pair, b_group = await _prepare(ec2, b.public_key, b.owner)
    assert (b_pair, b_group) == (theirs.key_name, theirs.security_group_ids[0])
    # And a third computer C, whose launch is under way: key pair and group made, no instance yet
    c = OtherComputer(tmp_path / "c", principal="AIDATHIRDCOMPUTER")
    c_pair, c_group = await _prepare(ec2, c.public_key, c.owner)
    others = {theirs.instance_id, b_pair, b_group, c_pair, c_group}

    # When A terminates its machine and releases what it no longer uses
    await instances.terminate(ec2, mine.instance_id)
    released = await access.release_unused(ec2, COMPUTER)
    # Then A's key pair and group are gone, and every one of B's and C's is still there
    assert sorted(released) == sorted([*mine.security_group_ids, COMPUTER.key_pair_name])
    held = _exists(url)
    assert others <= held["instances"] | held["groups"] | held["pairs"]

    # When A launches again, then sweeps (this computer's resources) from its terminal
    again = await _launch(ec2, image, "m-0a0a0a0a")

    def sweep(*more: str) -> int:
        command = ["sweep", "--endpoint-url", url, "--data-dir", str(a_dir), "--yes"]
        return cli.main([*command, "--regions", "us-east-1", *more])

    assert await asyncio.to_thread(sweep) == 0
    # Then A's machine, group and key pair are gone, and B's and C's are all there
    held = _exists(url)
    assert again.instance_id not in held["instances"]
    assert COMPUTER.key_pair_name not in held["pairs"]
    assert others <= held["instances"] | held["groups"] | held["pairs"]

    # When the sweep is asked for every computer's resources, in so many words
    assert await asyncio.to_thread(sweep, "--all-computers") == 0
    # Then B's and C's are gone too
    held = _exists(url)
    assert not others & (held["instances"] | held["groups"] | held["pairs"])
