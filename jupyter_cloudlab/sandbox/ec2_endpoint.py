"""A real EC2 API on loopback (moto's server), reached by boto3 over HTTP like AWS itself."""

from __future__ import annotations

import asyncio
import logging
import urllib.request

from moto.server import ThreadedMotoServer

from ..cloud.aws_client import AwsClient, AwsTarget

SANDBOX_REGION = "us-east-1"
# moto accepts any credentials; these never leave this process.
SANDBOX_ACCESS_KEY = "sandbox"
SANDBOX_SECRET_KEY = "sandbox"

# What a fresh account would find: a Deep Learning image and a plain one, as the sandbox's own.
SANDBOX_IMAGES = (
    "Deep Learning OSS Nvidia Driver AMI GPU PyTorch (Ubuntu 22.04) - sandbox",
    "Amazon Linux 2023 - sandbox",
)


def _reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


class Ec2Endpoint:
    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self.url = ""

    async def start(self) -> AwsTarget:
        # werkzeug logs every request at INFO; the sandbox should be quiet.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        target = AwsTarget(
            region=SANDBOX_REGION,
            endpoint_url=self.url,
            access_key_id=SANDBOX_ACCESS_KEY,
            secret_access_key=SANDBOX_SECRET_KEY,
        )
        # moto keeps its state per process: a new sandbox starts from an empty account.
        await asyncio.to_thread(_reset, self.url)
        await self._seed(AwsClient(target))
        return target

    async def _seed(self, ec2: AwsClient) -> None:
        for name in SANDBOX_IMAGES:
            await ec2.call(
                "register_image",
                Name=name,
                Architecture="x86_64",
                RootDeviceName="/dev/sda1",
                BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
            )

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
