"""The lifecycle the seeds did by hand, against moto's EC2 (no SSH behind it): a stopped machine
resized (type, architecture, price) or saved as an image of ours (offered first in the picker,
with what keeping it costs; `sweep` removes it with its snapshot), and EC2's reasons for a stop
turned into sentences, the machine's own shutdown record preferred."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab import cli
from jupyter_cloudlab.cloud import access, catalog, images, instances
from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.state_reasons import stop_sentence
from jupyter_cloudlab.errors import CloudLabError, ErrorKind
from jupyter_cloudlab.machines.shutdown_records import parse
from jupyter_cloudlab.models import ImageRequest, MachineAction, MachineState
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

MACHINE_ID = "m-7e570001"


async def _stopped_machine(ec2: AwsClient, url: str, data_dir: Path) -> Any:
    """An orchestrator that found this computer's stopped t3.medium machine at start."""
    image = register_image(url, "Ubuntu 24.04 test")
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY, OWNER)
    group = await access.ensure_security_group(ec2, "198.51.100.7/32", GROUP, OWNER)
    info = await instances.launch(ec2, spec(image, key_name=key, security_group_id=group))
    await instances.wait_running(ec2, info.instance_id)
    await instances.stop(ec2, info.instance_id)
    orchestrator = make_orchestrator(ec2, data_dir)
    await orchestrator.reconcile()
    assert orchestrator.get(MACHINE_ID).state is MachineState.stopped
    return orchestrator


async def test_a_stopped_machine_changes_type_and_price(
    ec2: AwsClient, url: str, tmp_path: Path
) -> None:
    # Given a stopped t3.medium
    orchestrator = await _stopped_machine(ec2, url, tmp_path)
    before = orchestrator.get(MACHINE_ID)
    assert MachineAction.resize in before.actions

    # When it is resized to a t3.xlarge
    after = await orchestrator.resize(MACHINE_ID, "t3.xlarge")

    # Then EC2 has the new type, and the row shows it with its price (not the old one)
    raw = boto(url).describe_instances(InstanceIds=[before.instance_id])
    assert raw["Reservations"][0]["Instances"][0]["InstanceType"] == "t3.xlarge"
    assert after.instance_type == "t3.xlarge"
    small, large = await catalog.describe_instance_types(ec2, ["t3.medium", "t3.xlarge"])
    assert after.price_per_hour == large.price_per_hour
    assert large.price_per_hour and small.price_per_hour
    assert large.price_per_hour > small.price_per_hour
    await orchestrator.close()


async def test_resize_refuses_another_architecture_and_unknown_types(
    ec2: AwsClient, url: str, tmp_path: Path
) -> None:
    # Given a stopped x86_64 machine
    orchestrator = await _stopped_machine(ec2, url, tmp_path)

    # When it is resized to a Graviton (arm64) type, or a type that does not exist
    with pytest.raises(CloudLabError) as arm:
        await orchestrator.resize(MACHINE_ID, "t4g.medium")
    with pytest.raises(CloudLabError) as unknown:
        await orchestrator.resize(MACHINE_ID, "zz9.huge")

    # Then both are refused as bad input (400) with a sentence, and nothing changed
    assert arm.value.kind is ErrorKind.invalid and "arm64" in arm.value.message
    assert unknown.value.kind is ErrorKind.invalid and "zz9.huge" in unknown.value.message
    assert orchestrator.get(MACHINE_ID).instance_type == "t3.medium"
    await orchestrator.close()


async def test_a_saved_image_is_offered_as_yours_and_sweep_removes_it_with_its_snapshot(
    ec2: AwsClient,
    url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stopped machine
    orchestrator = await _stopped_machine(ec2, url, tmp_path)

    # When it is saved as an image
    request = ImageRequest(name="torch env", description="torch 2.7 and my data")
    saved = await orchestrator.save_image(MACHINE_ID, request)

    # Then the image is tagged as this computer's, with what it holds in its description
    assert saved.ours and saved.family == "yours"
    assert "torch 2.7 and my data" in saved.description and "t3.medium" in saved.description
    # And the picker lists it first, with the cost of keeping its snapshot (an estimate)
    offered = await catalog.offered_images(ec2, AwsClient(ec2.target, "ssm"), COMPUTER)
    assert offered[0].id == saved.id and offered[0].ssh_user == "ubuntu"
    assert offered[0].snapshot_gib and offered[0].storage_usd_per_month == pytest.approx(
        offered[0].snapshot_gib * images.SNAPSHOT_USD_PER_GB_MONTH
    )
    assert "estimate" in (offered[0].storage_price_note or "")
    [snapshot] = images.saved_image(
        boto(url).describe_images(ImageIds=[saved.id])["Images"][0]
    ).snapshot_ids
    await orchestrator.close()

    # When this computer sweeps (from a terminal with credentials; moto takes any)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sweep = ["sweep", "--endpoint-url", url, "--data-dir", str(tmp_path), "--yes"]
    assert await asyncio.to_thread(cli.main, sweep) == 0

    # Then the image is deregistered and its snapshot deleted (it would be billed else)
    left = boto(url).describe_images(Owners=["self"])["Images"]
    assert [i["Name"] for i in left] == ["Ubuntu 24.04 test"]  # the base image is not ours
    snapshots = boto(url).describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert snapshot not in [s["SnapshotId"] for s in snapshots]


async def test_a_machine_that_is_not_stopped_is_neither_resized_nor_saved(
    ec2: AwsClient, url: str, tmp_path: Path
) -> None:
    # Given a machine being started
    orchestrator = await _stopped_machine(ec2, url, tmp_path)
    await orchestrator.start(MACHINE_ID)
    await asyncio.sleep(0.2)  # its flow under way

    # When it is resized or saved meanwhile, Then both are conflicts (409) that say to stop it
    for command in (
        orchestrator.resize(MACHINE_ID, "t3.xlarge"),
        orchestrator.save_image(MACHINE_ID, ImageRequest(name="too soon")),
    ):
        with pytest.raises(CloudLabError) as refused:
            await command
        assert refused.value.kind is ErrorKind.conflict
        assert "Stop the machine" in refused.value.message
    await orchestrator.close()


def test_ec2_reasons_read_as_sentences() -> None:
    # Given what EC2 says of instances stopped or terminated by others
    console = stop_sentence(
        "stopped",
        "Client.UserInitiatedShutdown",
        "Client.UserInitiatedShutdown: User initiated shutdown",
        "User initiated (2026-12-04 09:12:40 GMT)",
    )
    itself = stop_sentence("stopped", "Client.InstanceInitiatedShutdown")
    spot = stop_sentence("terminated", "Server.SpotInstanceTermination")
    unknown = stop_sentence("stopped", "Server.Mystery", "Server.Mystery: a new reason")

    # Then each says who did it, and when where EC2 says
    assert console == (
        "Stopped from outside CloudLab (the AWS console, CLI or API), at 09:12 UTC on 2026-12-04."
    )
    assert itself.startswith("The machine shut itself down")
    assert spot.startswith("AWS interrupted this spot machine and terminated it")
    assert unknown == "Stopped by AWS: a new reason (Server.Mystery)."


def test_the_machines_shutdown_record_is_read_bounded() -> None:
    # Given records the machine may write (it is not trusted)
    at = datetime(2026, 12, 4, 9, 12, tzinfo=timezone.utc)
    good = parse(b'{"reason": "idle", "at": "2026-12-04T09:12:00+00:00", "detail": "30 min"}')
    hostile = parse(b'{"reason": "idle", "at": "2026-12-04T09:12:00", "detail": "a\\u001b[31mb"}')

    # Then a good one becomes a sentence, control characters never pass, junk is no record
    assert good is not None and good.sentence() == (
        "The machine stopped itself: it was idle: 30 min, at 09:12 UTC."
    )
    assert hostile is not None and "\x1b" not in hostile.detail
    assert parse(b"not json") is None
    assert parse(b'{"reason": "rm -rf /", "at": "2026-12-04T09:12:00"}') is None
    assert parse(b"{" + b" " * 5000 + b"}") is None
    # And only a record written after the machine became ready explains its stop
    assert good.explains_stop_after(at - timedelta(hours=1))
    assert not good.explains_stop_after(at + timedelta(hours=1))


async def test_the_cli_resizes_saves_and_lists_images(
    ec2: AwsClient,
    url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given this computer's stopped machine, and a terminal with credentials
    await (await _stopped_machine(ec2, url, tmp_path)).close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    where = ["--endpoint-url", url, "--data-dir", str(tmp_path)]

    def cloudlab(*words: str) -> int:
        return cli.main([*words, *where])

    # When it is resized to another architecture, then to a bigger type of its own
    assert await asyncio.to_thread(cloudlab, "resize", MACHINE_ID, "t4g.medium") == 2
    assert await asyncio.to_thread(cloudlab, "resize", MACHINE_ID, "t3.large") == 0
    # Then only the second changed it, and the price change was printed
    [reservation] = boto(url).describe_instances()["Reservations"]
    assert reservation["Instances"][0]["InstanceType"] == "t3.large"
    assert "t3.medium -> t3.large" in capsys.readouterr().out

    # When it is saved as an image, Then `images` lists it with what keeping it costs
    assert await asyncio.to_thread(cloudlab, "image", MACHINE_ID, "--name", "cli image") == 0
    assert await asyncio.to_thread(cloudlab, "images") == 0
    listed = capsys.readouterr().out
    assert "cli image" in listed and "/month" in listed and "estimate" in listed

    # And a running machine is refused (exit 2: something to fix) with what to do
    boto(url).start_instances(InstanceIds=[reservation["Instances"][0]["InstanceId"]])
    assert await asyncio.to_thread(cloudlab, "resize", MACHINE_ID, "t3.xlarge") == 2
    assert "stop it first" in capsys.readouterr().err
