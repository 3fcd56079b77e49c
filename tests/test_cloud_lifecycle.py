"""Stop / start / terminate as EC2 confirms them, the SSH rule closed while nothing runs, cleanup
of what we created once nothing uses it, and state rebuilt from tags after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jupyter_cloudlab.cloud import access, instances
from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.tags import Computer, Owner
from jupyter_cloudlab.models import MachineAction, MachineState
from tests.helpers.moto_cloud import (
    COMPUTER,
    GROUP,
    OWNER,
    PUBLIC_KEY,
    boto,
    make_orchestrator,
    register_image,
    spec,
)
from tests.helpers.moto_cloud import target as moto_target

OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKTnDAll6aFNm8q7pfvPK07jO5X/PO3Lg5+og5JzVfSe"
CALLER = "198.51.100.7/32"
TIMEOUT = 120


async def _launch(
    ec2: AwsClient, image: str, machine_id: str, **more: object
) -> instances.InstanceInfo:
    key_name = await access.ensure_key_pair(ec2, PUBLIC_KEY, OWNER)
    group = await access.ensure_security_group(ec2, CALLER, GROUP, OWNER)
    info = await instances.launch(
        ec2,
        spec(
            image,
            machine_id=machine_id,
            name=machine_id,
            key_name=key_name,
            security_group_id=group,
            **more,
        ),
    )
    return await instances.wait_running(ec2, info.instance_id)


def _ssh_cidrs(url: str) -> list[str]:
    groups = boto(url).describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [GROUP]}]
    )["SecurityGroups"]
    return [r["CidrIp"] for g in groups for p in g["IpPermissions"] for r in p["IpRanges"]]


def _ours(url: str) -> tuple[list[str], list[str]]:
    moto = boto(url)
    groups = moto.describe_security_groups()["SecurityGroups"]
    pairs = moto.describe_key_pairs()["KeyPairs"]
    return (
        [g["GroupId"] for g in groups if g["GroupName"].startswith(access.SECURITY_GROUP_PREFIX)],
        [p["KeyName"] for p in pairs if p["KeyName"].startswith(access.KEY_PAIR_PREFIX)],
    )


async def test_stop_start_new_address_and_ssh_rule_only_while_running(
    url: str, ec2: AwsClient
) -> None:
    # Given two running machines
    image = register_image(url, "Ubuntu 24.04 test")
    first = await _launch(ec2, image, "m-f1257001")
    second = await _launch(ec2, image, "m-5ec0d001")
    # When one stops, Then EC2 says stopped and SSH stays open for the other
    await instances.stop(ec2, first.instance_id)
    assert (await instances.describe(ec2, first.instance_id)).state == "stopped"
    assert not await access.close_when_idle(ec2, COMPUTER)
    assert _ssh_cidrs(url) == [CALLER]
    # When the last running one stops, Then nobody may SSH in any more
    await instances.stop(ec2, second.instance_id)
    assert await access.close_when_idle(ec2, COMPUTER)
    assert _ssh_cidrs(url) == []
    # When one starts again (from a new address), Then the rule is back for that /32 only
    await access.ensure_security_group(ec2, "203.0.113.9/32", GROUP, OWNER)
    started = await instances.start(ec2, first.instance_id)
    assert started.state == "running"
    assert _ssh_cidrs(url) == ["203.0.113.9/32"]
    # And the machine has a new public address, refreshed from EC2
    assert started.public_ip and started.public_ip != first.public_ip
    # And a reboot comes back running
    assert (await instances.reboot(ec2, first.instance_id)).state == "running"


async def test_terminate_removes_what_we_made_once_nothing_uses_it(
    url: str, ec2: AwsClient
) -> None:
    # Given two machines sharing our group and key pair, and another computer's key pair that
    # no machine uses
    image = register_image(url, "Ubuntu 24.04 test")
    first = await _launch(ec2, image, "m-f1257001")
    second = await _launch(ec2, image, "m-5ec0d001")
    other = Owner(Computer.of(OTHER_KEY), "AIDAOTHERPRINCIPAL")
    other_key = await access.ensure_key_pair(ec2, OTHER_KEY, other)
    # When one is terminated, Then the group and its key stay (the other uses them)
    await instances.terminate(ec2, first.instance_id)
    assert await access.release_unused(ec2, COMPUTER) == []
    groups, pairs = _ours(url)
    assert groups == list(second.security_group_ids)
    assert sorted(pairs) == sorted([second.key_name, other_key])
    # When the last one is terminated, Then nothing of this computer's is left
    await instances.terminate(ec2, second.instance_id)
    assert sorted(await access.release_unused(ec2, COMPUTER)) == sorted([*groups, second.key_name])
    # And the other computer's key pair is still there: it is not ours to remove
    assert _ours(url) == ([], [other_key])


async def test_terminating_a_persistent_spot_machine_cancels_its_request(
    url: str, ec2: AwsClient
) -> None:
    image = register_image(url, "Ubuntu 24.04 test")
    info = await _launch(ec2, image, "m-5b070001", spot=True, spot_persistent=True)
    await instances.terminate(ec2, info.instance_id)
    assert (await instances.describe(ec2, info.instance_id)).state == "terminated"


async def _state(orchestrator: object, machine_id: str, state: MachineState) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        machines = {m.id: m for m in orchestrator.list()}  # type: ignore[attr-defined]
        if machine_id not in machines and state is MachineState.terminated:
            return
        if machine_id in machines and machines[machine_id].state is state:
            return
        assert asyncio.get_running_loop().time() < deadline, machines
        await asyncio.sleep(0.1)


async def test_reconcile_rebuilds_state_from_tags_after_a_restart(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given two stopped machines of ours and one instance that is not ours
    image = register_image(url, "Ubuntu 24.04 test")
    one = await _launch(ec2, image, "m-2ec00001", spot=True)
    two = await _launch(ec2, image, "m-2ec00002")
    foreign = boto(url).run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    for info in (one, two):
        await instances.stop(ec2, info.instance_id)
    # When a fresh server (no local cache at all) starts over the same account
    data_dir = tmp_path / "fresh"
    data_dir.mkdir()
    orchestrator = make_orchestrator(AwsClient(moto_target(url)), data_dir)
    await orchestrator.reconcile()
    # Then it knows exactly our machines, by their tags, in the state EC2 reports
    machines = {m.id: m for m in orchestrator.list()}
    assert set(machines) == {"m-2ec00001", "m-2ec00002"}
    assert machines["m-2ec00001"].instance_id == one.instance_id
    assert machines["m-2ec00001"].spot and not machines["m-2ec00002"].spot
    assert machines["m-2ec00001"].name == "m-2ec00001"
    assert {m.state for m in machines.values()} == {MachineState.stopped}
    assert foreign["InstanceId"] not in {m.instance_id for m in machines.values()}
    # When both are terminated through it, Then our group and key pair go with the last one
    await orchestrator.terminate("m-2ec00001")
    await _state(orchestrator, "m-2ec00001", MachineState.terminated)
    assert _ours(url)[0] != []
    await orchestrator.terminate("m-2ec00002")
    await _state(orchestrator, "m-2ec00002", MachineState.terminated)
    await orchestrator.close()
    assert _ours(url) == ([], [])


async def test_kernels_of_machines_stopped_or_terminated_while_away_are_forgotten(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given a server that knew three running machines, then went away
    image = register_image(url, "Ubuntu 24.04 test")
    kept, stopped, gone = [await _launch(ec2, image, f"m-a0a0000{i}") for i in range(1, 4)]
    first = make_orchestrator(ec2, tmp_path)
    await first.reconcile()
    await first.close()
    # And meanwhile one machine was stopped and one terminated (from the console, say)
    await instances.stop(ec2, stopped.instance_id)
    await instances.terminate(ec2, gone.instance_id)

    # When the server starts again
    forgotten: list[str] = []
    second = make_orchestrator(ec2, tmp_path, forgotten=forgotten)
    await second.reconcile()
    await second.close()

    # Then the kernels it had saved for those two are forgotten, and only theirs
    assert sorted(set(forgotten)) == ["m-a0a00002", "m-a0a00003"]
    # And the one terminated from outside keeps its row, with the reason, until dismissed
    rows = {m.id: m for m in second.list()}
    assert set(rows) == {"m-a0a00001", "m-a0a00002", "m-a0a00003"}
    assert rows["m-a0a00003"].state is MachineState.terminated
    assert (rows["m-a0a00003"].stop_reason or "").startswith("Terminated from outside")
    assert rows["m-a0a00003"].actions == [MachineAction.dismiss]
    # And the one stopped from outside says so
    assert (rows["m-a0a00002"].stop_reason or "").startswith("Stopped from outside CloudLab")
    assert kept.machine_id == "m-a0a00001"


async def test_reconcile_finds_our_machines_in_every_configured_region(
    url: str, ec2: AwsClient, tmp_path: Path
) -> None:
    # Given a stopped machine of ours in eu-west-1 while the home region is us-east-1
    away = AwsClient(moto_target(url, "eu-west-1"))
    image = register_image(url, "Ubuntu 24.04 test", region="eu-west-1")
    info = await _launch(away, image, "m-a0a00001")
    await instances.stop(away, info.instance_id)
    # When a server configured with both regions starts
    orchestrator = make_orchestrator(ec2, tmp_path, regions=("us-east-1", "eu-west-1"))
    await orchestrator.reconcile()
    # Then it knows that machine, in its region
    [machine] = orchestrator.list()
    assert (machine.id, machine.region, machine.state) == (
        "m-a0a00001",
        "eu-west-1",
        MachineState.stopped,
    )
    # And acts on it in that region: terminate is confirmed by eu-west-1's EC2
    await orchestrator.terminate("m-a0a00001")
    await _state(orchestrator, "m-a0a00001", MachineState.terminated)
    await orchestrator.close()
    assert (await instances.describe(away, info.instance_id)).state == "terminated"


async def test_two_computers_of_one_account_keep_their_own_ssh_rule(
    url: str, ec2: AwsClient
) -> None:
    # Given a laptop and a desktop of one account, each with its own key and address
    desktop_key = (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMv3Jt5xq3C9yq0bW3cWqXv8mM3cYV8Xh1dQ8b8P2k1A d"
    )
    desktop_group = access.security_group_name(desktop_key)
    assert desktop_group != GROUP
    desktop = Owner(Computer.of(desktop_key), "AIDADESKTOP")
    image = register_image(url, "Ubuntu 24.04 test")
    laptop_machine = await _launch(ec2, image, "m-1a070001")
    await access.ensure_security_group(ec2, "203.0.113.50/32", desktop_group, desktop)
    # When the laptop's machine stops and the laptop closes its SSH rule
    await instances.stop(ec2, laptop_machine.instance_id)
    assert await access.close_when_idle(ec2, COMPUTER)
    # Then the desktop's rule is untouched, and the laptop's alone is gone
    moto = boto(url)
    groups = {
        g["GroupName"]: [r["CidrIp"] for p in g["IpPermissions"] for r in p["IpRanges"]]
        for g in moto.describe_security_groups()["SecurityGroups"]
    }
    assert groups[desktop_group] == ["203.0.113.50/32"]
    assert groups[GROUP] == []
