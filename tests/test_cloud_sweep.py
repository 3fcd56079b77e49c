"""`jupyter cloudlab sweep`: every resource this computer made, in every region asked, listed;
removed only on confirmation; things that are not ours are never touched, and those of ours that
another computer made only with `--all-computers`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jupyter_cloudlab import cli
from jupyter_cloudlab.cloud import access, aws_client, instances, sweep
from jupyter_cloudlab.cloud.aws_client import AwsClient
from tests.helpers.moto_cloud import (
    COMPUTER,
    GROUP,
    OWNER,
    PUBLIC_KEY,
    boto,
    register_image,
    reset,
    spec,
    target,
    write_client_key,
)

REGIONS = ("us-east-1", "eu-west-1")
MACHINE_IDS = {"us-east-1": "m-0e000001", "eu-west-1": "m-e0000001"}


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_client, "WAITER_DELAY_SECONDS", 0.2)
    monkeypatch.setattr(access, "DELETE_RETRY_SECONDS", 0.1)
    # The terminal's credentials (moto accepts any)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


async def _ours_in(url: str, region: str) -> list[str]:
    """Launch a machine of ours in `region` (key pair, group, instance, volume)."""
    ec2 = AwsClient(target(url, region))
    image = register_image(url, "Ubuntu 24.04 test", region=region)
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY, OWNER)
    group = await access.ensure_security_group(ec2, "198.51.100.7/32", GROUP, OWNER)
    machine_id = MACHINE_IDS[region]
    info = await instances.launch(
        ec2, spec(image, machine_id=machine_id, key_name=key, security_group_id=group)
    )
    return [info.instance_id, group, key]


def _sweep(url: str, data_dir: Path, *more: str) -> int:
    regions = ",".join(REGIONS)
    command = ["sweep", "--endpoint-url", url, "--data-dir", str(data_dir), "--regions", regions]
    return cli.main([*command, *more])


def test_sweep_lists_then_removes_ours_in_every_region(
    url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given this computer's data folder, machines of ours in two regions, a stray volume with our
    # owner tag (but no computer's), and an instance not ours
    reset(url)
    write_client_key(tmp_path)
    ours = [asyncio.run(_ours_in(url, region)) for region in REGIONS]
    stray = boto(url, region="eu-west-1").create_volume(
        AvailabilityZone="eu-west-1a",
        Size=8,
        TagSpecifications=[
            {
                "ResourceType": "volume",
                "Tags": [{"Key": "cloudlab:owner", "Value": "jupyter_cloudlab"}],
            }
        ],
    )["VolumeId"]
    image = register_image(url, "not ours")
    foreign = boto(url).run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]

    # When sweep runs without --yes and without a terminal
    assert _sweep(url, tmp_path) == 1
    listed = capsys.readouterr().out
    # Then it lists every resource of this computer in both regions and removes nothing
    for resource in [*ours[0], *ours[1]]:
        assert resource in listed
    assert foreign["InstanceId"] not in listed and stray not in listed
    assert "Nothing removed" in listed
    away = AwsClient(target(url, "eu-west-1"))
    assert len(asyncio.run(sweep.find_tagged(away, COMPUTER))) >= 4

    # When it runs with --yes
    assert _sweep(url, tmp_path, "--yes") == 0
    assert "Removed" in capsys.readouterr().out
    # Then nothing of this computer's is left in either region
    for region in REGIONS:
        assert asyncio.run(sweep.find_tagged(AwsClient(target(url, region)), COMPUTER)) == []
    # And the instance that is not ours still runs
    after = boto(url).describe_instances(InstanceIds=[foreign["InstanceId"]])
    assert after["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    # And a second sweep finds nothing of this computer's
    assert _sweep(url, tmp_path) == 0
    assert "Nothing of ours (this computer's)" in capsys.readouterr().out

    # When every computer's resources are asked for, Then the stray volume is found and removed
    assert _sweep(url, tmp_path, "--all-computers", "--yes") == 0
    assert stray in capsys.readouterr().out
    assert asyncio.run(sweep.find_tagged(away, None)) == []
    # And still, what is not ours is left alone
    after = boto(url).describe_instances(InstanceIds=[foreign["InstanceId"]])
    assert after["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
