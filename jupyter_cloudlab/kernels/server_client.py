"""The one place that talks to a machine's server (a headless jupyter_server) over its forward.

Everything else in kernels/ goes through :class:`MachineServerClient`, so timeouts, auth and error
mapping live here. The token travels only in the ``Authorization`` header and is never logged:
URLs built here carry no secret, so they are safe in log lines and error messages. Requests go
to the tunnel's Unix socket (``MachineServer.socket_path``): tornado's client through a resolver
that answers with that socket for any host, the relay's websocket through asyncio's Unix
connection.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.netutil import Resolver
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from .machine_servers import MachineServer
from .relay.upstream import HandshakeRejected, HandshakeTooLarge, UpstreamSocket

log = logging.getLogger(__name__)

# Timeouts (seconds). Requests cross an SSH forward to another continent at worst; a kernel start
# may wait on a cold disk (EBS volumes restored from snapshots are slow on first read).
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0
KERNEL_START_TIMEOUT = 120.0
# Pings on the upstream hop find a dead forward in seconds rather than at the next TCP timeout.
UPSTREAM_PING_INTERVAL = 15.0
UPSTREAM_PING_TIMEOUT = 30.0
# What a machine sends is bounded (it may be compromised): a reply past its bound is refused with
# a sentence, and never held whole. REST replies are kernel models and lists: kilobytes.
MAX_REPLY_BYTES = 8 * 1024 * 1024
# A kernelspec listing is a few kB per spec (kernel.json and resource URLs); 1 MiB holds hundreds.
MAX_SPEC_LISTING_BYTES = 1024 * 1024
# Kernelspecs taken from one machine (a Deep Learning AMI has about ten environments).
MAX_KERNELSPECS = 64
# A logo is a few kB (jupyter's own are under 10 kB; a detailed SVG some tens).
MAX_LOGO_BYTES = 512 * 1024
# A remote kernelspec name as jupyter_client allows them ([a-z0-9._-], case-insensitive),
# starting with a letter or digit (never "." or ".." in a URL path), and short.
REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# The most of a machine server's error message kept for log lines and replies.
MAX_ERROR_MESSAGE_CHARS = 500
# The Host a machine server is asked with over its socket: jupyter_server answers only requests
# for a loopback name when it is not open to remote access (its check against DNS rebinding).
SOCKET_HOST = "localhost"


class SocketResolver(Resolver):
    """Every host name resolves to the tunnel's Unix socket (tornado's TCP client connects to
    AF_UNIX addresses as to any other)."""

    def initialize(self, path: str) -> None:
        self._path = path

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        return [(socket.AF_UNIX, self._path)]


class MachineServerError(Exception):
    """A machine server request failed: an HTTP error status, or 599 when the machine server was unreachable."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message

    @property
    def unreachable(self) -> bool:
        """True when no HTTP answer came back (forward down, machine stopped, timeout)."""
        return self.status_code == 599


class MachineServerClient:
    """Async client of ONE machine server's REST API and kernel channels."""

    def __init__(self, machine_server: MachineServer) -> None:
        self.machine_server = machine_server

    # -- plumbing -------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"token {self.machine_server.token}"}
        if self.machine_server.socket_path is not None:
            headers["Host"] = SOCKET_HOST
        return headers

    def _url(self, *parts: str) -> str:
        return (
            self.machine_server.base_url.rstrip("/")
            + "/"
            + "/".join(quote(p, safe="") for p in parts)
        )

    async def _request(
        self,
        method: str,
        *parts: str,
        body: dict[str, Any] | None = None,
        timeout: float = REQUEST_TIMEOUT,
        max_bytes: int = MAX_REPLY_BYTES,
    ) -> bytes:
        """The reply's body. One past ``max_bytes`` is refused (502, a sentence) and not kept:
        the bytes past the bound are dropped as they come, and the read stops at twice the bound
        (tornado's own bound, which cuts the connection without saying why)."""
        url = self._url(*parts)
        received = bytearray()
        declared: list[int] = []
        past_bound = False

        def header_line(line: str) -> None:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                declared.append(int(value.strip()))

        def body_part(chunk: bytes) -> None:
            nonlocal past_bound
            if not past_bound and len(received) + len(chunk) > max_bytes:
                past_bound = True
                received.clear()
            if not past_bound:
                received.extend(chunk)

        def too_large() -> MachineServerError:
            return MachineServerError(
                502,
                f"{method} {url}: the machine server's reply passed {_size(max_bytes)}, "
                "more than CloudLab reads of it",
            )

        request = HTTPRequest(
            url,
            method=method,
            headers={**self._headers(), "Content-Type": "application/json"},
            body=json.dumps(body) if body is not None else (b"" if method == "POST" else None),
            connect_timeout=CONNECT_TIMEOUT,
            request_timeout=timeout,
            follow_redirects=False,
            header_callback=header_line,
            streaming_callback=body_part,
        )
        # A client of its own: tornado's shared one reads up to 100 MB of any reply (the simple
        # client keeps no connection between requests anyway, so this costs nothing more).
        path = self.machine_server.socket_path
        client = SimpleAsyncHTTPClient(
            force_instance=True,
            max_body_size=2 * max_bytes,
            resolver=SocketResolver(path=path) if path is not None else None,
        )
        try:
            await client.fetch(request)
        except HTTPClientError as e:
            if past_bound or max(declared, default=0) > max_bytes:
                raise too_large() from e
            # 599 is tornado's code for "no response"; keep the URL (no token in it) for the log.
            message = e.message or "request failed"
            if received:
                message = _error_message(bytes(received)) or message
            raise MachineServerError(e.code, f"{method} {url}: {message}") from e
        except OSError as e:
            raise MachineServerError(599, f"{method} {url}: {e}") from e
        finally:
            client.close()
        if past_bound:
            raise too_large()
        return bytes(received)

    async def _json(self, method: str, *parts: str, **kwargs: Any) -> Any:
        raw = await self._request(method, *parts, **kwargs)
        return json.loads(raw) if raw else None

    # -- kernelspecs ----------------------------------------------------------------------------

    async def list_specs(self, timeout: float = REQUEST_TIMEOUT) -> dict[str, Any]:
        """The machine server's ``/api/kernelspecs`` reply, checked: ``{"default": ...,
        "kernelspecs": {name: model}}`` with at most ``MAX_KERNELSPECS`` models (dicts with a
        ``spec`` dict), each under a safe name (``REMOTE_NAME``); the others are left out with
        a warning. A reply past ``MAX_SPEC_LISTING_BYTES`` or of another shape is refused (502).
        """
        reply = await self._json(
            "GET", "api", "kernelspecs", timeout=timeout, max_bytes=MAX_SPEC_LISTING_BYTES
        )
        specs = reply.get("kernelspecs") if isinstance(reply, dict) else None
        if not isinstance(specs, dict):
            raise MachineServerError(
                502, f"GET {self._url('api', 'kernelspecs')}: not a kernelspec listing"
            )
        machine_id = self.machine_server.machine_id
        valid = {
            name: model
            for name, model in specs.items()
            if isinstance(name, str)
            and REMOTE_NAME.fullmatch(name)
            and isinstance(model, dict)
            and isinstance(model.get("spec"), dict)
        }
        if len(valid) < len(specs):
            log.warning(
                "Machine %s: %d kernelspec(s) left out: a name outside [A-Za-z0-9._-] (at most "
                "64 characters) or not a kernelspec.",
                machine_id,
                len(specs) - len(valid),
            )
        if len(valid) > MAX_KERNELSPECS:
            log.warning(
                "Machine %s lists %d kernelspecs; CloudLab takes the first %d by name.",
                machine_id,
                len(valid),
                MAX_KERNELSPECS,
            )
            valid = {name: valid[name] for name in sorted(valid)[:MAX_KERNELSPECS]}
        default = reply.get("default")
        return {
            "default": default if isinstance(default, str) and default in valid else None,
            "kernelspecs": valid,
        }

    async def get_spec_resource(
        self, remote_name: str, filename: str, max_bytes: int = MAX_LOGO_BYTES
    ) -> bytes | None:
        """A kernelspec resource file (a logo: one file name, no folders), or None when the machine
        server has none by that name. One past ``max_bytes`` is refused (MachineServerError 502)."""
        if not REMOTE_NAME.fullmatch(remote_name) or not REMOTE_NAME.fullmatch(filename):
            return None
        try:
            return await self._request(
                "GET", "kernelspecs", remote_name, filename, max_bytes=max_bytes
            )
        except MachineServerError as e:
            if e.status_code == 404:
                return None
            raise

    # -- kernels --------------------------------------------------------------------------------

    async def list_kernels(self, timeout: float = REQUEST_TIMEOUT) -> list[dict[str, Any]]:
        return list(await self._json("GET", "api", "kernels", timeout=timeout))

    async def start_kernel(self, remote_name: str, path: str | None = None) -> dict[str, Any]:
        """Start a kernel; returns the machine server's kernel model (its ``id`` becomes ours too)."""
        body: dict[str, Any] = {"name": remote_name}
        if path:
            # The machine server falls back to its root dir when the notebook's folder is absent there.
            body["path"] = path
        return dict(
            await self._json("POST", "api", "kernels", body=body, timeout=KERNEL_START_TIMEOUT)
        )

    async def get_kernel(self, kernel_id: str) -> dict[str, Any] | None:
        """The kernel's model, or None when the machine server does not know it (404)."""
        try:
            return dict(await self._json("GET", "api", "kernels", kernel_id))
        except MachineServerError as e:
            if e.status_code == 404:
                return None
            raise

    async def interrupt_kernel(self, kernel_id: str) -> None:
        await self._request("POST", "api", "kernels", kernel_id, "interrupt")

    async def restart_kernel(self, kernel_id: str) -> dict[str, Any]:
        return dict(
            await self._json(
                "POST", "api", "kernels", kernel_id, "restart", timeout=KERNEL_START_TIMEOUT
            )
        )

    async def shutdown_kernel(self, kernel_id: str) -> None:
        await self._request("DELETE", "api", "kernels", kernel_id)

    # -- the machine's guard (idle stop, budget deadline, spot notice) --------------------------

    async def guard_status(self) -> dict[str, Any]:
        """What the machine's guard says now (machine_side/cloudlab_guard.py)."""
        return dict(await self._json("GET", "cloudlab", "guard"))

    async def set_guard(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Change the guard's settings live (idle_minutes, stop_at, keep_until,
        stop_after_cell); returns its status."""
        return dict(await self._json("PUT", "cloudlab", "guard", body=settings))

    # -- channels -------------------------------------------------------------------------------

    def channels_url(self, kernel_id: str, session_id: str, resume_after: str | None = None) -> str:
        """The ``ws://`` URL of a kernel's channels (no secret in it)."""
        base = self._url("api", "kernels", kernel_id, "channels")
        ws_base = "ws" + base[len("http") :] if base.startswith("http") else base
        query = {"session_id": session_id}
        if resume_after:
            query["resume_after"] = resume_after
        return f"{ws_base}?{urlencode(query)}"

    async def connect_channels(
        self,
        kernel_id: str,
        session_id: str,
        subprotocols: list[str],
        resume_after: str | None = None,
    ) -> UpstreamSocket:
        """Open the kernel's websocket with the browser's session id and subprotocol offer.

        The session id must be the browser's: the machine server buffers output per (kernel, session)
        while nobody listens and replays it only to the same session. ``resume_after``: the
        msg_id of the last frame the browser got; the machine server first resends what it sent after
        that one (lost when the link died without a close). Messages have no size limit (a local
        kernel's outputs have none either; tornado's client would cut the link past 10 MiB).
        """
        url = self.channels_url(kernel_id, session_id, resume_after)
        try:
            return await UpstreamSocket.open(
                url,
                self._headers(),
                subprotocols,
                timeout=CONNECT_TIMEOUT,
                ping_interval=UPSTREAM_PING_INTERVAL,
                ping_timeout=UPSTREAM_PING_TIMEOUT,
                socket_path=self.machine_server.socket_path,
            )
        except HandshakeRejected as e:
            message = _error_message(e.body) or f"HTTP {e.status_code}"
            raise MachineServerError(e.status_code, f"websocket {url}: {message}") from e
        except HandshakeTooLarge as e:
            raise MachineServerError(502, f"websocket {url}: {e}") from e
        except (OSError, TimeoutError) as e:
            raise MachineServerError(599, f"websocket {url}: {e or 'timed out'}") from e


def _error_message(body: bytes) -> str | None:
    """The ``message`` of a jupyter_server JSON error body, if there is one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        message = data.get("message") or data.get("reason")
        return str(message)[:MAX_ERROR_MESSAGE_CHARS] if message else None
    return None


def _size(limit: int) -> str:
    """``8 MiB``, ``512 KiB``: a bound as a sentence says it."""
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
