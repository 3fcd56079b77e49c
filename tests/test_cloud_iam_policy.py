"""The IAM policy shipped in the repo is enough, and no wider than the code's needs: every AWS
operation the code makes during a full catalog / launch / stop / start / reboot / terminate /
reconcile / sweep cycle is allowed by it, its conditions included (request tags on every launch,
public SSM parameters only, changes only to what this principal made as ours), replayed
offline."""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_cloudlab import cli
from jupyter_cloudlab.cloud import access, aws_client, catalog, instances, sweep
from jupyter_cloudlab.cloud import images as saved_images
from jupyter_cloudlab.cloud.aws_client import OPERATION_OBSERVERS, PRICING_REGION, AwsClient
from jupyter_cloudlab.cloud.network import Ec2Network
from jupyter_cloudlab.cloud.tags import (
    COMPUTER_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    PRINCIPAL_TAG,
    owner_for,
)
from jupyter_cloudlab.models import LaunchRequest, MachineState
from tests.helpers.iam_replay import (
    NEEDS_NO_PERMISSION,
    Recorder,
    Request,
    allowing,
    install,
    statements,
)
from tests.helpers.moto_cloud import (
    COMPUTER,
    GROUP,
    PRINCIPAL,
    PUBLIC_KEY,
    inject_error,
    make_orchestrator,
    reset,
    spec,
    target,
    write_client_key,
)

# What IAM substitutes for the policy's variables when moto's test user calls.
VARIABLES = {"aws:userid": PRINCIPAL, "aws:PrincipalAccount": "123456789012"}
# Used on AWS only: moto records no spot request id, and creates no service-linked role.
NOT_EXERCISED_BY_MOTO = {
    "ec2:CancelSpotInstanceRequests",
    "iam:CreateServiceLinkedRole",
    "ec2:CreateTags",
}


def allowed_actions() -> list[str]:
    actions: list[str] = []
    for statement in statements():
        listed = statement["Action"]
        actions += [listed] if isinstance(listed, str) else listed
    return actions


def allows(actions: list[str], action: str) -> bool:
    return any(fnmatch.fnmatch(action.lower(), pattern.lower()) for pattern in actions)


@pytest.fixture
def replay(url: str, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """What IAM would authorize for each request, recorded as the code makes it."""
    recorder = Recorder(url)
    install(recorder, monkeypatch)
    return recorder


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
    for statement in statements():
        listed = statement["Action"] if isinstance(statement["Action"], list) else []
        assert len(listed) == len(set(listed)), statement["Sid"]
    # And nothing that changes or creates is granted on every resource without a condition
    for statement in statements():
        unconditioned = statement["Resource"] == "*" and "Condition" not in statement
        listed = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        changes = [a for a in listed if not a.split(":")[1].startswith(("Describe", "Get"))]
        assert not (unconditioned and changes), statement["Sid"]


def test_the_conditions_refuse_what_is_not_ours() -> None:
    # Given what a launch by this principal looks like to IAM
    ours = {
        f"aws:RequestTag/{OWNER_TAG}": OWNER_VALUE,
        f"aws:RequestTag/{COMPUTER_TAG}": COMPUTER.digest,
        f"aws:RequestTag/{PRINCIPAL_TAG}": PRINCIPAL,
        "aws:RequestTag/cloudlab:machine-id": "m-7e570001",
        "ec2:MetadataHttpTokens": "required",
    }
    instance = "arn:aws:ec2:us-east-1:123456789012:instance/new"
    assert allowing(Request("ec2:RunInstances", instance, ours), VARIABLES)
    # Then a launch without our tags, in another principal's name, or without IMDSv2 is refused
    for changed in (
        {f"aws:RequestTag/{OWNER_TAG}": None},
        {f"aws:RequestTag/{COMPUTER_TAG}": None},
        {f"aws:RequestTag/{PRINCIPAL_TAG}": "AIDASOMEONEELSE"},
        {"ec2:MetadataHttpTokens": "optional"},
    ):
        context = {k: v for k, v in {**ours, **changed}.items() if v is not None}
        assert not allowing(Request("ec2:RunInstances", instance, context), VARIABLES), changed
    # And so is a launch from an image of an unknown owner, or with a key pair not ours
    image = "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0"
    assert allowing(Request("ec2:RunInstances", image, {"ec2:Owner": "amazon"}), VARIABLES)
    assert not allowing(
        Request("ec2:RunInstances", image, {"ec2:Owner": "111122223333"}), VARIABLES
    )
    pair = "arn:aws:ec2:us-east-1:123456789012:key-pair/somebody"
    assert not allowing(Request("ec2:RunInstances", pair, {}), VARIABLES)
    # And no parameter outside AWS's public ones can be read (the account's SecureStrings)
    public = "arn:aws:ssm:us-east-1::parameter/aws/service/ami-amazon-linux-latest/x"
    assert allowing(Request("ssm:GetParameters", public), VARIABLES)
    secret = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db-password"
    assert not allowing(Request("ssm:GetParameters", secret), VARIABLES)
    # And another principal's machine can be neither stopped nor read from
    theirs = {
        f"aws:ResourceTag/{OWNER_TAG}": OWNER_VALUE,
        f"aws:ResourceTag/{PRINCIPAL_TAG}": "AIDASOMEONEELSE",
    }
    for action in (
        "ec2:StopInstances",
        "ec2:TerminateInstances",
        "ec2:GetConsoleOutput",
        "ec2:ModifyInstanceAttribute",
        "ec2:CreateImage",
    ):
        assert not allowing(Request(action, instance, theirs), VARIABLES), action
    # And no image or snapshot is saved untagged, nor another principal's deleted
    for kind in ("image", "snapshot"):
        new = f"arn:aws:ec2:us-east-1::{kind}/new"
        assert not allowing(Request("ec2:CreateImage", new, {}), VARIABLES), kind
    snapshot = "arn:aws:ec2:us-east-1::snapshot/snap-0123"
    assert not allowing(Request("ec2:DeleteSnapshot", snapshot, theirs), VARIABLES)
    # And nothing can be tagged after the fact
    assert not allowing(Request("ec2:CreateTags", instance, ours), VARIABLES)


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
    # A launch that fails cleans up after itself (through the orchestrator, which is this
    # computer: the one of PUBLIC_KEY)
    owner = await owner_for(ec2, COMPUTER)
    orchestrator = make_orchestrator(ec2, data_dir)
    failing = AwsClient(target(url))
    inject_error(failing, "RunInstances", "InsufficientInstanceCapacity", times=1)
    doomed = make_orchestrator(failing, data_dir)
    machine = await doomed.launch(LaunchRequest(instance_type="t3.medium", image_id=image.id))
    await _until(lambda: doomed.get(machine.id).state is MachineState.failed)
    await doomed.close()
    # Launch as the orchestrator does, spot persistent included
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY, owner)
    group = await access.ensure_security_group(ec2, "198.51.100.7/32", GROUP, owner)
    info = await instances.launch(
        ec2,
        spec(
            image.id,
            key_name=key,
            security_group_id=group,
            spot=True,
            spot_persistent=True,
            owner=owner,
        ),
    )
    await instances.wait_running(ec2, info.instance_id)
    await Ec2Network(ec2).console_output(info.instance_id)
    await instances.reboot(ec2, info.instance_id)
    await instances.stop(ec2, info.instance_id)
    await access.close_when_idle(ec2, COMPUTER)
    await access.ensure_security_group(ec2, "203.0.113.9/32", GROUP, owner)
    await instances.start(ec2, info.instance_id)
    await instances.stop(ec2, info.instance_id)
    # A stopped machine resized, then saved as an image of ours (the sweep removes it)
    await instances.change_type(ec2, info.instance_id, "t3.large")
    await saved_images.create(ec2, owner, info.instance_id, "cycle image", "a test", "ubuntu")
    # Restart: state rebuilt from tags; terminate through the orchestrator (cleans up)
    await orchestrator.reconcile()
    await orchestrator.terminate("m-7e570001")
    await _until(lambda: not orchestrator.list())
    await orchestrator.close()
    # Sweep everything that is left in two regions
    key = await access.ensure_key_pair(ec2, PUBLIC_KEY, owner)
    group = await access.ensure_security_group(ec2, "198.51.100.7/32", GROUP, owner)
    await instances.launch(
        ec2,
        spec(image.id, machine_id="m-7e570002", key_name=key, security_group_id=group, owner=owner),
    )
    await sweep.enabled_regions(ec2)


def test_every_operation_of_a_full_cycle_is_in_the_policy(
    url: str, recorded: set[str], replay: Recorder, tmp_path: Path
) -> None:
    # Given a fresh account, and this computer's data folder
    reset(url)
    write_client_key(tmp_path)
    # When the code runs a whole cycle, then sweeps from the command line
    asyncio.run(_cycle(url, tmp_path))
    sweep_all = ["sweep", "--endpoint-url", url, "--data-dir", str(tmp_path)]
    assert cli.main([*sweep_all, "--regions", "us-east-1,eu-west-1", "--yes"]) == 0
    # Then it made the operations we expect to see (the recording works)...
    for expected in (
        "ec2:RunInstances",
        "ec2:DeleteSecurityGroup",
        "pricing:GetProducts",
        "ec2:CreateImage",
        "ec2:DeleteSnapshot",
    ):
        assert expected in recorded, sorted(recorded)
    # ...and the policy allows every one of them (the one AWS answers to anybody aside)
    actions = allowed_actions()
    missing = sorted(op for op in recorded - NEEDS_NO_PERMISSION if not allows(actions, op))
    assert missing == [], f"operations outside iam-policy.json: {missing}"
    # And the policy grants nothing the code does not use (moto can't show the last two)
    unused = {a for a in actions if a not in recorded} - NOT_EXERCISED_BY_MOTO
    assert unused == set(), f"iam-policy.json grants unused actions: {sorted(unused)}"

    # And replayed with its conditions, every request of the cycle is allowed: launches carry
    # our tags in this principal's name, SSM reads are of public parameters, changes reach only
    # what this principal made as ours
    refused = [r for r in replay.requests if r.action not in NEEDS_NO_PERMISSION]
    refused = [r for r in refused if not allowing(r, VARIABLES)]
    assert refused == [], f"requests the policy's conditions refuse: {refused}"
    launches = [params for action, params in replay.calls if action == "ec2:RunInstances"]
    assert len(launches) >= 3  # the failed one, the spot one, the one swept
    for launch in launches:
        kinds = {spec["ResourceType"] for spec in launch["TagSpecifications"]}
        assert {"instance", "volume", "network-interface"} <= kinds
    names = [
        n
        for action, params in replay.calls
        if action == "ssm:GetParameters"
        for n in params["Names"]
    ]
    assert names and all(n.startswith("/aws/service/") for n in names), names
