"""A real EC2 API on loopback (moto's server), reached by boto3 over HTTP like AWS itself.

moto accepts any signature, and a loopback port is open to every user of this computer. So each
run has credentials of its own (a random key id and secret, kept in memory and in the data
folder's endpoint file only), and `SignedRequests` lets a request reach moto only when it is
signed with them (AWS SigV4) for this endpoint's own Host; moto's `/moto-api/` routes too.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import logging
import secrets
import string
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote
from xml.sax.saxutils import escape

from ..cloud.aws_client import AwsClient, AwsTarget
from ..cloud.request_signature import ReceivedRequest, SignatureRefused, check_signature, sign

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

SANDBOX_REGION = "us-east-1"
# EC2 query requests are small; a bigger body is refused before it is read.
MAX_BODY_BYTES = 8 * 1024 * 1024
log = logging.getLogger(__name__)

# What a fresh account would find: a Deep Learning image and a plain one, as the sandbox's own.
SANDBOX_IMAGES = (
    "Deep Learning OSS Nvidia Driver AMI GPU PyTorch (Ubuntu 22.04) - sandbox",
    "Amazon Linux 2023 - sandbox",
)


def new_credentials() -> tuple[str, str]:
    """A key id shaped like AWS's and a 240-bit secret, made for one sandbox run."""
    alphabet = string.ascii_uppercase + string.digits
    key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    return key_id, secrets.token_urlsafe(30)


def call_moto_api(target: AwsTarget, path: str, method: str = "POST", timeout: float = 10) -> bytes:
    """One of moto's own routes (``/moto-api/...``) of TARGET's endpoint, signed as boto3 signs."""
    url = f"{target.endpoint_url}{path}"
    headers = sign(
        method, url, target.access_key_id or "", target.secret_access_key or "", target.region
    )
    request = urllib.request.Request(url, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return bytes(reply.read())


class _Refused(Exception):
    def __init__(self, code: str, message: str, status: str = "403 Forbidden") -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class SignedRequests:
    """WSGI middleware: only requests signed with this endpoint's secret, for its Host, pass.

    A request with another key id, a wrong signature, a date more than 5 minutes off, or a Host
    other than the endpoint's own ``127.0.0.1:<port>`` (DNS rebinding from a browser) gets an
    EC2 error reply, which boto3 turns into a ClientError; moto never sees it.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        access_key_id: str,
        secret_access_key: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._clock = clock
        self.host = ""
        """The only Host accepted, ``127.0.0.1:<port>``; nothing passes until it is set."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            body = _read_body(environ)
            self._check(environ, body)
        except _Refused as refused:
            log.warning("The sandbox's EC2 endpoint refused a request: %s", refused.message)
            reply = _error_xml(refused.code, refused.message)
            headers = [("Content-Type", "text/xml"), ("Content-Length", str(len(reply)))]
            start_response(refused.status, headers)
            return [reply]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self._app(environ, start_response)

    def _check(self, environ: dict[str, Any], body: bytes) -> None:
        host = str(environ.get("HTTP_HOST", ""))
        if not self.host or not hmac.compare_digest(host.encode(), self.host.encode()):
            raise _Refused("AuthFailure", "The request is not addressed to this endpoint (Host).")
        raw = str(environ.get("RAW_URI") or "")
        if raw.startswith("/"):
            path, _, query = raw.partition("?")
        else:
            path, query = quote(environ.get("PATH_INFO") or "/"), environ.get("QUERY_STRING", "")
        request = ReceivedRequest(
            method=str(environ.get("REQUEST_METHOD", "GET")),
            host=self.host,
            path=path,
            query=str(query),
            headers=_headers(environ),
            body=body,
        )
        try:
            check_signature(request, self._access_key_id, self._secret_access_key, self._clock())
        except SignatureRefused as refused:
            raise _Refused(refused.code, refused.message) from None


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name, as WSGI hands them over."""
    headers = {
        key[5:].lower().replace("_", "-"): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.lower().replace("_", "-")] = str(environ[key])
    return headers


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _Refused("InvalidParameterValue", "Bad Content-Length.", "400 Bad Request") from None
    if length > MAX_BODY_BYTES:
        raise _Refused("RequestTooLarge", "The request is too large.", "413 Payload Too Large")
    return bytes(environ["wsgi.input"].read(length)) if length > 0 else b""


def _error_xml(code: str, message: str) -> bytes:
    """EC2's error form, which botocore's parser reads into a ClientError."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


def _reset(target: AwsTarget) -> None:
    call_moto_api(target, "/moto-api/reset")


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
        # moto comes with the `sandbox` extra: imported here so the package imports without it.
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.signals = InstanceSignals(DomainDispatcherApplication(create_backend_app))
        self._access_key_id, self._secret_access_key = new_credentials()
        self._signed = SignedRequests(self.signals, self._access_key_id, self._secret_access_key)
        self.url = ""

    async def start(self) -> AwsTarget:
        # werkzeug logs every request at INFO; the sandbox should be quiet.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from werkzeug.serving import make_server

        from .moto_gaps import close_gaps

        close_gaps()  # answers as AWS does where moto does not (moto_gaps.py)

        self._server = make_server("127.0.0.1", 0, self._signed, threaded=True)
        self._signed.host = f"127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://{self._signed.host}"
        target = AwsTarget(
            region=SANDBOX_REGION,
            endpoint_url=self.url,
            access_key_id=self._access_key_id,
            secret_access_key=self._secret_access_key,
        )
        # moto keeps its state per process: a new sandbox starts from an empty account.
        await asyncio.to_thread(_reset, target)
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
