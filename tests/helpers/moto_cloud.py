"""Helpers for the cloud layer's tests: one moto server on 127.0.0.1 (reached over HTTP like
AWS), error injection on a real client, and a plain boto3 client to ask what EC2 recorded."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.sts.models import sts_backends

from jupyter_cloudlab.cloud.access import security_group_name
from jupyter_cloudlab.cloud.aws_client import AwsClient, AwsTarget
from jupyter_cloudlab.cloud.instances import LaunchSpec
from jupyter_cloudlab.cloud.tags import Computer, Owner
from jupyter_cloudlab.ssh.client_key import public_key_line

REGION = "us-east-1"
# This computer's SSH key (made for the test run, never written anywhere but a test's data
# folder), its public line, the computer it names and the security group named after it.
CLIENT_KEY = asyncssh.generate_private_key("ssh-ed25519", comment="t")
PUBLIC_KEY = public_key_line(CLIENT_KEY)
COMPUTER = Computer.of(PUBLIC_KEY)
GROUP = security_group_name(PUBLIC_KEY)
# What this computer's launches are tagged with: moto's caller user id for keys it never issued
# (its STS default; asked here rather than spelled out).
PRINCIPAL = sts_backends[DEFAULT_ACCOUNT_ID]["aws"].get_caller_identity("unknown", "us-east-1")[0]
OWNER = Owner(COMPUTER, PRINCIPAL)


def moto_server() -> Iterator[str]:
    """A moto server for a test module; yields its URL."""
    # moto answers the Pricing API (which it lacks) with a logged 500: keep the output readable.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def target(url: str, region: str = REGION) -> AwsTarget:
    return AwsTarget(
        region=region, endpoint_url=url, access_key_id="testing", secret_access_key="testing"
    )


def boto(url: str, service: str = "ec2", region: str = REGION) -> Any:
    """What AWS itself says: a plain boto3 client, outside our code."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def register_image(url: str, name: str, arch: str = "x86_64", region: str = REGION) -> str:
    reply = boto(url, region=region).register_image(
        Name=name,
        Architecture=arch,
        RootDeviceName="/dev/sda1",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
    )
    return str(reply["ImageId"])


def spec(image_id: str, **overrides: Any) -> LaunchSpec:
    fields: dict[str, Any] = {
        "machine_id": "m-7e570001",
        "name": "test-box",
        "instance_type": "t3.medium",
        "image_id": image_id,
        "ssh_user": "ubuntu",
        "key_name": "",
        "security_group_id": "",
        "disk_gib": 30,
        "spot": False,
        "owner": OWNER,
    }
    fields.update(overrides)
    return LaunchSpec(**fields)


class FakeHttp:
    """The HTTP part of an error reply returned by a before-call hook."""

    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.text = ""


def inject_error(
    client: AwsClient, operation: str, code: str, message: str = "", times: int = 1
) -> list[int]:
    """Make the next `times` calls of `operation` (e.g. RunInstances) fail with `code` before they
    reach the endpoint; the rest go through. Returns a list that counts the attempts."""
    attempts: list[int] = []

    def hook(**_: Any) -> Any:
        attempts.append(1)
        if len(attempts) > times:
            return None
        status = 503 if "Throttl" in code or "LimitExceeded" in code else 400
        parsed = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return FakeHttp(status), parsed

    client.client.meta.events.register(f"before-call.{client.service}.{operation}", hook)
    return attempts


def record_params(client: AwsClient, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` call, as sent to AWS."""
    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    client.client.meta.events.register(f"provide-client-params.{client.service}.{operation}", hook)
    return seen


def write_client_key(data_dir: Path, key: asyncssh.SSHKey = CLIENT_KEY) -> Path:
    """Put `key` in a data folder as its SSH client key (0600), unless one is there already."""
    path = Path(data_dir) / "id_ed25519"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.export_private_key())
    return path


def make_orchestrator(
    ec2: AwsClient,
    data_dir: Any,
    cidr: str = "198.51.100.7/32",
    regions: tuple[str, ...] = (),
    forgotten: list[str] | None = None,
    client_key: asyncssh.SSHKey = CLIENT_KEY,
) -> Any:
    """An orchestrator over `ec2` with no SSH behind it: enough for cloud-side flows.
    It is the computer of `client_key` (by default this one: PUBLIC_KEY, COMPUTER, GROUP) unless
    its data folder already holds a key. `forgotten` receives the machines whose kernels it tells
    the server to forget."""
    from jupyter_cloudlab.cloud.network import Ec2Network
    from jupyter_cloudlab.kernels.machine_servers import MachineServerRegistry
    from jupyter_cloudlab.machines.link import LinkContext
    from jupyter_cloudlab.machines.orchestrator import MachineOrchestrator
    from jupyter_cloudlab.machines.store import MachineStore
    from jupyter_cloudlab.ssh.client_key import load_or_create_client_key
    from jupyter_cloudlab.ssh.host_keys import HostKeyStore

    async def no_specs(_: Any) -> list[str]:
        return []

    async def forget(machine_id: str) -> None:
        if forgotten is not None:
            forgotten.append(machine_id)

    async def detect() -> str:
        return cidr

    context = LinkContext(
        ec2=ec2,
        network=Ec2Network(ec2),
        client_key=load_or_create_client_key(write_client_key(data_dir, client_key)),
        host_keys=HostKeyStore(data_dir / "host_keys.json"),
        remote_python="python3",
    )
    return MachineOrchestrator(
        context,
        store=MachineStore(data_dir / "machines.json"),
        machine_servers=MachineServerRegistry(),
        list_kernelspecs=no_specs,
        forget_kernels=forget,
        emit=lambda machine: None,
        ssh_from_cidr="",
        detect_cidr=detect,
        regions=regions,
    )
