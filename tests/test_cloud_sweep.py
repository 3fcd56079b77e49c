"""`jupyter cloudlab sweep`: every resource carrying our tags, in every region asked, listed; removed
only on confirmation; things that are not ours are never touched."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_cloudlab import cli
from jupyter_cloudlab.cloud import access, aws_client, instances, sweep
from jupyter_cloudlab.cloud.aws_client import AwsClient
from tests.helpers.moto_cloud import GROUP, PUBLIC_KEY, boto, register_image, reset, spec, target

REGIONS = ("us-east-1", "eu-west-1")


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
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY)
    group = await access.ensure_security_group(ec2, "198.51.100.7/32", GROUP)
    info = await instances.launch(
        ec2, spec(image, machine_id=f"m-{region}", key_name=key, security_group_id=group)
    )
    return [info.instance_id, group, key]


def _sweep(url: str, *more: str) -> int:
    return cli.main(["sweep", "--endpoint-url", url, "--regions", ",".join(REGIONS), *more])


def test_sweep_lists_then_removes_ours_in_every_region(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given machines of ours in two regions, a stray tagged volume, and an instance not ours
    reset(url)
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
    assert _sweep(url) == 1
    listed = capsys.readouterr().out
    # Then it lists every resource of ours in both regions and removes nothing
    for resource in [*ours[0], *ours[1], stray]:
        assert resource in listed
    assert foreign["InstanceId"] not in listed
    assert "Nothing removed" in listed
    assert len(asyncio.run(sweep.find_tagged(AwsClient(target(url, "eu-west-1"))))) >= 5

    # When it runs with --yes
    assert _sweep(url, "--yes") == 0
    assert "Removed" in capsys.readouterr().out
    # Then nothing carrying our tags is left in either region
    for region in REGIONS:
        assert asyncio.run(sweep.find_tagged(AwsClient(target(url, region)))) == []
    # And the instance that is not ours still runs
    after = boto(url).describe_instances(InstanceIds=[foreign["InstanceId"]])
    assert after["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    # And a second sweep finds nothing
    assert _sweep(url) == 0
    assert "Nothing of ours" in capsys.readouterr().out
