"""The sandbox's EC2 endpoint serves only its own clients, and its hypervisor powers on only our
instances: another user of this computer can neither create a machine nor get a shell on one.

(Loopback ports are shared by every local user; moto itself accepts any signature.)
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import secrets
import stat
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import boto3
import botocore.auth
import pytest
from botocore.exceptions import ClientError

from jupyter_cloudlab.cloud.access import KEY_PAIR_PREFIX
from jupyter_cloudlab.cloud.aws_client import AwsClient, AwsTarget
from jupyter_cloudlab.cloud.tags import OWNER_TAG, tag_list
from jupyter_cloudlab.data_folder import DataFolder
from jupyter_cloudlab.json_files import read_json
from jupyter_cloudlab.sandbox.sandbox import Sandbox
from jupyter_cloudlab.sandbox.sandbox import read_endpoint_file as read_sandbox_endpoint
from tests.helpers.sandbox_ec2 import OURS, import_key_pair, run_instance
from tests.test_sandbox_lifecycle import instance

PUBLIC_KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    running = Sandbox(DataFolder(tmp_path))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def _target(sandbox: Sandbox) -> AwsTarget:
    """The sandbox's endpoint and credentials, as `jupyter cloudlab` finds them."""
    found = read_sandbox_endpoint(DataFolder(sandbox.machines_dir.parent.parent))
    assert found is not None
    return found


def _client(target: AwsTarget, **changes: str) -> Any:
    """A plain boto3 EC2 client on the sandbox's port; `changes`: what an attacker has instead."""
    settings = {
        "endpoint_url": target.endpoint_url,
        "aws_access_key_id": target.access_key_id,
        "aws_secret_access_key": target.secret_access_key,
        **changes,
    }
    return boto3.client("ec2", region_name=target.region, **settings)


def _attack(client: Any) -> list[str]:
    """Import a key pair of the attacker and run an instance with it, tagged as ours: the codes
    of the errors each call got."""
    codes = []
    for call, params in (
        (
            "import_key_pair",
            {
                "KeyName": KEY_PAIR_PREFIX + "a77ac4e20000",
                "PublicKeyMaterial": PUBLIC_KEY.encode(),
                "TagSpecifications": [{"ResourceType": "key-pair", "Tags": tag_list(OURS)}],
            },
        ),
        (
            "run_instances",
            {
                "KeyName": KEY_PAIR_PREFIX + "a77ac4e20000",
                "ImageId": "ami-12c6146b",
                "MinCount": 1,
                "MaxCount": 1,
                "TagSpecifications": [{"ResourceType": "instance", "Tags": tag_list(OURS)}],
            },
        ),
    ):
        with pytest.raises(ClientError) as refused:
            getattr(client, call)(**params)
        codes.append(refused.value.response["Error"]["Code"])
    return codes


def _nothing_made(sandbox: Sandbox) -> None:
    ours = _client(_target(sandbox))
    assert ours.describe_key_pairs()["KeyPairs"] == []
    assert ours.describe_instances()["Reservations"] == []
    assert not sandbox.machines_dir.exists() or list(sandbox.machines_dir.iterdir()) == []


async def test_other_credentials_are_refused_and_create_nothing(sandbox: Sandbox) -> None:
    # Given a running sandbox, and another local user who knows its port (not its secret)
    target = _target(sandbox)

    # When they call it with keys of their own, the right key id with another secret, or the
    # sandbox's own leftover keys of old
    for changes in (
        {
            "aws_access_key_id": "AKIA" + secrets.token_hex(8).upper(),
            "aws_secret_access_key": secrets.token_urlsafe(30),
        },
        {"aws_secret_access_key": "guessed-secret"},
        {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"},
    ):
        codes = _attack(_client(target, **changes))
        # Then each call is refused as AWS refuses bad credentials
        assert set(codes) <= {"AuthFailure", "SignatureDoesNotMatch"}, codes

    # And nothing was imported, run or powered on
    await asyncio.sleep(1)
    _nothing_made(sandbox)


async def test_a_tampered_old_or_misaddressed_request_is_refused(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _target(sandbox)

    # When a request signed with the right secret is changed after signing (another key pair)
    tampered = _client(target)

    def swap_key(request: Any, **_: Any) -> None:
        request.body = request.body.replace("a77ac4e20000", "b0d1e5000000")

    tampered.meta.events.register("before-send.ec2.*", swap_key)
    assert set(_attack(tampered)) == {"SignatureDoesNotMatch"}

    # When a request comes to the right port under another name (DNS rebinding: Host differs)
    renamed = str(target.endpoint_url).replace("127.0.0.1", "localhost")
    assert set(_attack(_client(target, endpoint_url=renamed))) == {"AuthFailure"}

    # When a request was signed more than 5 minutes ago (a replay)
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=6)
    stale = _client(target)
    with monkeypatch.context() as patched:
        patched.setattr(botocore.auth, "get_current_datetime", lambda: old.replace(tzinfo=None))
        assert set(_attack(stale)) == {"RequestExpired"}

    # Then nothing was made
    _nothing_made(sandbox)


async def test_moto_api_needs_the_secret_too(sandbox: Sandbox) -> None:
    # Given the sandbox's images
    url = _target(sandbox).endpoint_url
    images = _client(_target(sandbox)).describe_images(Owners=["self"])["Images"]
    assert images

    # When someone asks moto's own API, unsigned, to reset the account or show its state
    for path, method in (("/moto-api/reset", "POST"), ("/moto-api/data.json", "GET")):
        request = urllib.request.Request(f"{url}{path}", method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(urllib.request.urlopen, request, timeout=10)
        # Then it is refused, and nothing changed
        assert refused.value.code == 403
    assert _client(_target(sandbox)).describe_images(Owners=["self"])["Images"] == images


async def test_credentials_are_per_run_private_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    folder = DataFolder(tmp_path)
    folder.sandbox.folder.mkdir(parents=True, mode=0o755)
    folder.sandbox.folder.chmod(0o755)
    secrets = []
    for _ in range(2):
        sandbox = Sandbox(folder)
        target = await sandbox.start()
        try:
            # The endpoint file holds this run's credentials, readable by its owner only
            assert read_json(folder.sandbox_endpoint) == vars(target)
            assert stat.S_IMODE(folder.sandbox_endpoint.stat().st_mode) == 0o600
            assert stat.S_IMODE(folder.sandbox.folder.stat().st_mode) == 0o700
            assert target.secret_access_key and len(target.secret_access_key) >= 32
            secrets.append(target.secret_access_key)
            # A refused request is logged, without the secret
            _attack(_client(target, aws_secret_access_key="wrong"))
        finally:
            await sandbox.stop()
    assert secrets[0] != secrets[1]
    assert "refused a request" in caplog.text
    assert not any(secret in caplog.text for secret in secrets)


async def test_only_our_instances_with_our_key_pair_power_on(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    ec2 = AwsClient(_target(sandbox))
    assert sandbox.network is not None
    # Given, through the sandbox's own (authenticated) endpoint, instances that are not ours:
    # a key pair without our prefix, an instance without our tag, a key pair without our tag
    other = await import_key_pair(ec2, "someone-else", PUBLIC_KEY)
    untagged = await import_key_pair(ec2, KEY_PAIR_PREFIX + "untagged0000", PUBLIC_KEY, tags={})
    good = await import_key_pair(ec2, KEY_PAIR_PREFIX + "0123456789ab", PUBLIC_KEY)
    foreign = [
        await run_instance(ec2, other),
        await run_instance(ec2, untagged),
        await run_instance(ec2, good, tags={"Name": "no owner tag"}),
        await run_instance(ec2, good, tags={OWNER_TAG: "someone"}),
        await run_instance(ec2, "", tags=OURS),
    ]
    # And, last, one of ours
    ours = await run_instance(ec2, good)

    # When the hypervisor has seen them all (ours powers on)
    await asyncio.wait_for(sandbox.network.ssh_endpoint(instance(ours)), 30)
    await asyncio.sleep(1.5)

    # Then none of the others has a machine, and the log says why
    for instance_id in foreign:
        assert not (sandbox.machines_dir / instance_id).exists(), instance_id
        assert f"Sandbox machine {instance_id} stays powered off" in caplog.text
    assert (sandbox.machines_dir / ours).exists()


def test_a_target_never_prints_its_secret() -> None:
    # Given the sandbox's kind of target, with a secret
    target = AwsTarget(
        "us-east-1",
        endpoint_url="http://127.0.0.1:1",
        access_key_id="AKIAX",
        secret_access_key="s3cret-s3cret-s3cret",
    )

    # When it is printed (a log line, an error's repr)
    # Then the secret is not in it
    assert "s3cret" not in repr(target) and "s3cret" not in str(target)
