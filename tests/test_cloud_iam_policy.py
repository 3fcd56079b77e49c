"""The IAM policy shipped in the repo is enough: every AWS operation the code makes during a full
catalog / launch / stop / start / reboot / terminate / reconcile / sweep cycle is allowed by it."""

from __future__ import annotations

import asyncio
import fnmatch
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_cloudlab import cli
from jupyter_cloudlab.cloud import access, aws_client, catalog, instances, sweep
from jupyter_cloudlab.cloud.aws_client import OPERATION_OBSERVERS, PRICING_REGION, AwsClient
from jupyter_cloudlab.cloud.network import Ec2Network
from jupyter_cloudlab.models import LaunchRequest, MachineState
from tests.helpers.moto_cloud import (
    GROUP,
    PUBLIC_KEY,
    inject_error,
    make_orchestrator,
    reset,
    spec,
    target,
)

POLICY = Path(__file__).parent.parent / "iam-policy.json"
# Used on AWS only: moto records no spot request id, and creates no service-linked role.
NOT_EXERCISED_BY_MOTO = {
    "ec2:CancelSpotInstanceRequests",
    "iam:CreateServiceLinkedRole",
    "ec2:CreateTags",
}


def allowed_actions() -> list[str]:
    policy = json.loads(POLICY.read_text())
    actions: list[str] = []
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions += [listed] if isinstance(listed, str) else listed
    return actions


def allows(actions: list[str], action: str) -> bool:
    return any(fnmatch.fnmatch(action.lower(), pattern.lower()) for pattern in actions)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    monkeypatch.setattr(aws_client, "WAITER_DELAY_SECONDS", 0.2)
    monkeypatch.setattr(access, "DELETE_RETRY_SECONDS", 0.1)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    seen: set[str] = set()

    def observe(service: str, operation: str) -> None:
        seen.add(f"{service}:{operation}")

    OPERATION_OBSERVERS.append(observe)
    yield seen
    OPERATION_OBSERVERS.remove(observe)


def test_the_policy_is_minimal() -> None:
    actions = allowed_actions()
    # No service-wide or verb-wide wildcards: every action is named
    assert all("*" not in action for action in actions), actions
    assert len(actions) == len(set(actions))


async def _until(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if condition():
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def _cycle(url: str, data_dir: Path) -> None:
    ec2 = AwsClient(target(url))
    ssm = AwsClient(target(url), "ssm")
    # Catalog: types with on-demand (Pricing API) and spot prices, images from SSM and our own
    await catalog.offered_instance_types(ec2, AwsClient(target(url), "pricing", PRICING_REGION))
    images = await catalog.offered_images(ec2, ssm)
    image = next(i for i in images if i.architecture == "x86_64")
    await catalog.describe_image(ec2, image.id)
    # A launch that fails cleans up after itself (through the orchestrator)
    orchestrator = make_orchestrator(ec2, data_dir)
    failing = AwsClient(target(url))
    inject_error(failing, "RunInstances", "InsufficientInstanceCapacity", times=1)
    doomed = make_orchestrator(failing, data_dir)
    machine = await doomed.launch(LaunchRequest(instance_type="t3.medium", image_id=image.id))
    await _until(lambda: doomed.get(machine.id).state is MachineState.failed)
    await doomed.close()
    # Launch as the orchestrator does, spot persistent included
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY)
    group = await access.ensure_security_group(ec2, "198.51.100.7/32", GROUP)
    info = await instances.launch(
        ec2,
        spec(image.id, key_name=key, security_group_id=group, spot=True, spot_persistent=True),
    )
    await instances.wait_running(ec2, info.instance_id)
    await Ec2Network(ec2).console_output(info.instance_id)
    await instances.reboot(ec2, info.instance_id)
    await instances.stop(ec2, info.instance_id)
    await access.close_when_idle(ec2, GROUP)
    await access.ensure_security_group(ec2, "203.0.113.9/32", GROUP)
    await instances.start(ec2, info.instance_id)
    await instances.stop(ec2, info.instance_id)
    # Restart: state rebuilt from tags; terminate through the orchestrator (cleans up)
    await orchestrator.reconcile()
    await orchestrator.terminate("m-test0001")
    await _until(lambda: not orchestrator.list())
    await orchestrator.close()
    # Sweep everything that is left in two regions
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY)
    group = await access.ensure_security_group(ec2, "198.51.100.7/32", GROUP)
    await instances.launch(
        ec2, spec(image.id, machine_id="m-test0002", key_name=key, security_group_id=group)
    )
    await sweep.enabled_regions(ec2)


def test_every_operation_of_a_full_cycle_is_in_the_policy(
    url: str, recorded: set[str], tmp_path: Path
) -> None:
    # Given a fresh account
    reset(url)
    # When the code runs a whole cycle, then sweeps from the command line
    asyncio.run(_cycle(url, tmp_path))
    assert (
        cli.main(["sweep", "--endpoint-url", url, "--regions", "us-east-1,eu-west-1", "--yes"]) == 0
    )
    # Then it made the operations we expect to see (the recording works)...
    for expected in ("ec2:RunInstances", "ec2:DeleteSecurityGroup", "pricing:GetProducts"):
        assert expected in recorded, sorted(recorded)
    # ...and the policy allows every one of them
    actions = allowed_actions()
    missing = sorted(op for op in recorded if not allows(actions, op))
    assert missing == [], f"operations outside iam-policy.json: {missing}"
    # And the policy grants nothing the code does not use (moto can't show the last two)
    unused = {a for a in actions if a not in recorded} - NOT_EXERCISED_BY_MOTO
    assert unused == set(), f"iam-policy.json grants unused actions: {sorted(unused)}"
