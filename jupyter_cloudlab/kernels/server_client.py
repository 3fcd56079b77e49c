"""The one place that talks to a machine's server (a headless jupyter_server) over its forward.

Everything else in kernels/ goes through :class:`MachineServerClient`, so timeouts, auth and error
mapping live here. The token travels only in the ``Authorization`` header and is never logged:
URLs built here carry no secret, so they are safe in log lines and error messages.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .machine_servers import MachineServer
from .relay.upstream import HandshakeRejected, UpstreamSocket

# Timeouts (seconds). Requests cross an SSH forward to another continent at worst; a kernel start
# may wait on a cold disk (EBS volumes restored from snapshots are slow on first read).
CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0
KERNEL_START_TIMEOUT = 120.0
# Pings on the upstream hop find a dead forward in seconds rather than at the next TCP timeout.
UPSTREAM_PING_INTERVAL = 15.0
UPSTREAM_PING_TIMEOUT = 30.0


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
        return {"Authorization": f"token {self.machine_server.token}"}

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
    ) -> bytes:
        url = self._url(*parts)
        request = HTTPRequest(
            url,
            method=method,
            headers={**self._headers(), "Content-Type": "application/json"},
            body=json.dumps(body) if body is not None else (b"" if method == "POST" else None),
            connect_timeout=CONNECT_TIMEOUT,
            request_timeout=timeout,
            follow_redirects=False,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as e:
            # 599 is tornado's code for "no response"; keep the URL (no token in it) for the log.
            message = e.message or "request failed"
            if e.response is not None and e.response.body:
                message = _error_message(e.response.body) or message
            raise MachineServerError(e.code, f"{method} {url}: {message}") from e
        except OSError as e:
            raise MachineServerError(599, f"{method} {url}: {e}") from e
        return response.body or b""

    async def _json(self, method: str, *parts: str, **kwargs: Any) -> Any:
        raw = await self._request(method, *parts, **kwargs)
        return json.loads(raw) if raw else None

    # -- kernelspecs ----------------------------------------------------------------------------

    async def list_specs(self, timeout: float = REQUEST_TIMEOUT) -> dict[str, Any]:
        """The machine server's ``/api/kernelspecs`` reply: ``{"default": ..., "kernelspecs": {...}}``."""
        return dict(await self._json("GET", "api", "kernelspecs", timeout=timeout))

    async def get_spec_resource(self, remote_name: str, path: str) -> bytes | None:
        """A kernelspec resource file (logo), or None when the machine server has none by that name."""
        parts = [p for p in path.split("/") if p and p not in (".", "..")]
        try:
            return await self._request("GET", "kernelspecs", remote_name, *parts)
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
            )
        except HandshakeRejected as e:
            message = _error_message(e.body) or f"HTTP {e.status_code}"
            raise MachineServerError(e.status_code, f"websocket {url}: {message}") from e
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
        return str(message) if message else None
    return None
