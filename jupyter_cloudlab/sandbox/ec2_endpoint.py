"""A real EC2 API on loopback (moto's server), reached by boto3 over HTTP like AWS itself."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

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


INSTANCE_ACTIONS = {
    "RunInstances",
    "StartInstances",
    "StopInstances",
    "TerminateInstances",
    "RebootInstances",
}


class InstanceSignals:
    """WSGI middleware: what the hypervisor must hear of the requests moto serves.

    Reboots, which moto accepts and does nothing with (on AWS a reboot reaches the machine from the
    hardware, never as a state change in the API), are kept for the hypervisor to take; any call
    that changes an instance also nudges it, so it can sit idle instead of polling fast.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._reboots: list[str] = []
        self._listeners: list[Callable[[], None]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        action = None
        if environ.get("REQUEST_METHOD") == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = parse_qs(body.decode("utf-8", "replace"))
            action = (form.get("Action") or [None])[0]
            if action == "RebootInstances":
                with self._lock:
                    self._reboots += [v[0] for k, v in form.items() if k.startswith("InstanceId.")]
        try:
            return self._app(environ, start_response)
        finally:
            if action in INSTANCE_ACTIONS:  # after moto has applied it
                for listener in list(self._listeners):
                    listener()

    def take_reboots(self) -> list[str]:
        with self._lock:
            reboots, self._reboots = self._reboots, []
        return reboots

    def on_instance_change(self, listener: Callable[[], None]) -> None:
        """Call LISTENER (from a server thread) after each request that changes an instance."""
        self._listeners.append(listener)


class Ec2Endpoint:
    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.signals = InstanceSignals(DomainDispatcherApplication(create_backend_app))
        self.url = ""

    async def start(self) -> AwsTarget:
        # werkzeug logs every request at INFO; the sandbox should be quiet.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server("127.0.0.1", 0, self.signals, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
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
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._server = None
