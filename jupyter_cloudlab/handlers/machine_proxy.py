"""The machine's files and terminals REST API, proxied from the local server to its machine server.

JupyterLab's own ``Drive`` and ``TerminalManager`` talk to
``<base>/cloudlab/machines/<machine id>/server/`` as if it were a jupyter server; only these of
its routes are passed on: ``api/contents[/path]`` (with checkpoints and chunked uploads),
``files/<path>`` (downloads) and ``api/terminals[/name]``. The terminal's websocket is in
machine_terminal.py. The machine server's token is added here and never sent to the browser; the
browser's cookie, XSRF token and Authorization never go to the machine (machine_proxy_policy.py).

Bodies stream both ways (kernels/server_stream.py): a PUT is passed on as it arrives, a reply as
it comes, each write waiting for the slower side, so a 1 GB file never sits in memory here.
Authentication and authorization happen in ``prepare``, before any byte of a body is read.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from tornado import web
from tornado.iostream import StreamClosedError

from ..errors import CloudLabError, ErrorKind
from ..kernels.machine_servers import MachineServer
from ..kernels.server_stream import ServerStream, ServerStreamError
from . import machine_proxy_policy as policy
from .base import CloudLabHandler
from .machine_reach import MACHINE_ID, PROXY_PREFIX, reachable_machine_server

SERVER = rf"/{PROXY_PREFIX}/{MACHINE_ID}/server"
# A PUT (a save, or one chunk of JupyterLab's chunked upload, ~1.4 MB) streams; a single PUT of
# a whole big file (a client other than JupyterLab) is allowed up to this.
MAX_PUT_BYTES = 4 * 1024**3
# Other bodies (rename, copy, new file, new terminal) are a few hundred bytes of JSON.
MAX_SMALL_BODY_BYTES = 1024 * 1024
# A terminal listing or model is small; a contents reply is streamed and may be large.
MAX_TERMINALS_REPLY_BYTES = 1024 * 1024
# An error reply from the machine is a short JSON sentence.
MAX_ERROR_REPLY_BYTES = 64 * 1024
TERMINAL_NAME = r"[A-Za-z0-9_-]{1,64}"


@web.stream_request_body
class MachineServerProxyHandler(CloudLabHandler):
    """Passes one request to the ready machine's server; subclasses name the upstream route."""

    upstream_route = ""
    reply_limit: int | None = None
    _stream: ServerStream | None = None

    @property
    def content_security_policy(self) -> str:
        """For every answer, errors included: whatever the machine sends is data, not a page."""
        return policy.SANDBOX_CSP

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("X-Content-Type-Options", "nosniff")

    def get_login_url(self) -> str:
        """An API has no use for a login page: refuse (403) rather than redirect there."""
        raise web.HTTPError(403)

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate and authorize now, before any body is read (decorators on the verbs run
        after a streamed body arrived); then find the machine and check the path."""
        await super().prepare()
        if not self.current_user:
            raise web.HTTPError(403)
        action = HTTP_METHOD_TO_AUTH_ACTION[self.request.method or "GET"]
        if not await _maybe_await(
            self.authorizer.is_authorized(self, self.current_user, action, self.auth_resource)
        ):
            raise web.HTTPError(403)
        self._machine_server: MachineServer = await reachable_machine_server(
            self.backend, self.path_kwargs["machine_id"]
        )
        self._target = self.upstream_target(**self.path_kwargs) + policy.query_string(
            self.request.query_arguments
        )
        self._small_body = bytearray()
        if self.request.method == "PUT":
            self.request.connection.set_max_body_size(MAX_PUT_BYTES)  # type: ignore[union-attr]
            self._stream = await self._open(self._browser_headers())

    def upstream_target(self, machine_id: str, **path: str) -> str:
        """The path on the machine server (checked, quoted)."""
        raise NotImplementedError

    async def data_received(self, chunk: bytes) -> None:
        if self._stream is not None:
            await self._send(chunk)
            return
        if len(self._small_body) + len(chunk) > MAX_SMALL_BODY_BYTES:
            raise web.HTTPError(413, reason="The request's body is too large.")
        self._small_body.extend(chunk)

    def on_connection_close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    # -- the exchange --------------------------------------------------------------------------

    def _browser_headers(self) -> list[tuple[str, str]]:
        return policy.request_headers(self.request.headers.get_all())

    async def _open(self, headers: list[tuple[str, str]]) -> ServerStream:
        try:
            return await ServerStream.open(
                self._machine_server, self.request.method or "GET", self._target, headers
            )
        except ServerStreamError as e:
            raise self._unreachable(e) from e

    async def _send(self, chunk: bytes) -> None:
        assert self._stream is not None
        try:
            await self._stream.send(chunk)
        except ServerStreamError as e:
            raise self._unreachable(e) from e

    def _unreachable(self, error: ServerStreamError) -> CloudLabError:
        return CloudLabError(
            f"The machine '{self._machine_server.machine_name}' did not answer: {error}. Try "
            "again in a moment.",
            ErrorKind.unavailable,
        )

    async def relay(self) -> None:
        """Finish the request on the machine server and stream its reply back."""
        if self._stream is None:
            body = bytes(self._small_body)
            self.check_body(body)
            headers = [h for h in self._browser_headers() if h[0].lower() != "content-length"]
            if body:
                headers.append(("Content-Length", str(len(body))))
            self._stream = await self._open(headers)
            await self._send(body)
        stream = self._stream
        try:
            status, headers = await stream.reply()
        except ServerStreamError as e:
            raise self._unreachable(e) from e
        try:
            await self._reply(stream, status, headers)
        finally:
            stream.close()

    def check_body(self, body: bytes) -> None:
        """Refuse a small body that names a path outside the machine's folder."""

    async def _reply(
        self, stream: ServerStream, status: int, headers: list[tuple[str, str]]
    ) -> None:
        self.set_status(status)
        upstream_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        if status >= 400:
            self.set_header("Content-Type", "application/json")
            limit: int | None = MAX_ERROR_REPLY_BYTES
        else:
            for name, value in policy.reply_headers(headers):
                self.set_header(name, value)
            self.reply_content_type(upstream_type)
            limit = self.reply_limit
        if status in (204, 304):
            self.clear_header("Content-Length")
            await self.finish()
            return
        sent = 0
        try:
            async for chunk in stream.body():
                sent += len(chunk)
                if limit is not None and sent > limit:
                    self.log.warning("Machine proxy: %s passed %d bytes; cut.", self._target, limit)
                    self.request.connection.close()  # type: ignore[union-attr]
                    return
                self.write(chunk)
                await self.flush()  # waits for the browser: memory stays at one chunk
        except (ServerStreamError, StreamClosedError) as e:
            self.log.warning("Machine proxy: %s broke off: %s", self._target, e)
            self.request.connection.close()  # type: ignore[union-attr]
            return
        await self.finish()

    def reply_content_type(self, upstream_type: str | None) -> None:
        """The API's replies are JSON whatever the machine says."""
        self.set_header("Content-Type", "application/json")


class MachineContentsProxyHandler(MachineServerProxyHandler):
    """``api/contents[/path]`` (and ``/checkpoints[/id]``): JupyterLab's Drive."""

    auth_resource = "contents"  # jupyter_server's own: who may not read files here, may not there

    def upstream_target(self, machine_id: str, **path: str) -> str:
        return "/api/contents/" + policy.confined_path(path["file_path"].removeprefix("/"))

    def check_body(self, body: bytes) -> None:
        """A rename (PATCH ``path``) or copy (POST ``copy_from``) names a second path."""
        if not body:
            return
        try:
            model = json.loads(body)
        except ValueError:
            raise web.HTTPError(400, reason="The request's body is not JSON.") from None
        if isinstance(model, dict):
            for key in ("path", "copy_from"):
                if key in model:
                    policy.body_path(model[key])

    @web.authenticated
    @authorized
    async def get(self, machine_id: str, file_path: str) -> None:
        await self.relay()

    @web.authenticated
    @authorized
    async def put(self, machine_id: str, file_path: str) -> None:
        await self.relay()

    @web.authenticated
    @authorized
    async def patch(self, machine_id: str, file_path: str) -> None:
        await self.relay()

    @web.authenticated
    @authorized
    async def post(self, machine_id: str, file_path: str) -> None:
        await self.relay()

    @web.authenticated
    @authorized
    async def delete(self, machine_id: str, file_path: str) -> None:
        await self.relay()


class MachineFilesProxyHandler(MachineServerProxyHandler):
    """``files/<path>``: a download, with a type that cannot run script in this origin."""

    auth_resource = "contents"

    def upstream_target(self, machine_id: str, **path: str) -> str:
        self._file_path = policy.confined_path(path["file_path"].removeprefix("/"))
        if not self._file_path:
            raise web.HTTPError(400, reason="Name a file to download.")
        return "/files/" + self._file_path

    def reply_content_type(self, upstream_type: str | None) -> None:
        content_type, attachment = policy.file_content_type(self._file_path, upstream_type)
        self.set_header("Content-Type", content_type)
        if attachment or self.get_query_argument("download", None):
            name = posixpath.basename(self.path_kwargs["file_path"])
            self.set_header(
                "Content-Disposition", f"attachment; filename*=UTF-8''{quote(name, safe='')}"
            )

    @web.authenticated
    @authorized
    async def get(self, machine_id: str, file_path: str) -> None:
        await self.relay()


class MachineTerminalsProxyHandler(MachineServerProxyHandler):
    """``api/terminals[/name]``: list, create and end the machine's terminals."""

    auth_resource = "terminals"
    reply_limit = MAX_TERMINALS_REPLY_BYTES

    def upstream_target(self, machine_id: str, **path: str) -> str:
        return "/api/terminals" + path["terminal"]

    def check_body(self, body: bytes) -> None:
        """A new terminal's ``cwd`` is a path too."""
        try:
            model = json.loads(body) if body else {}
        except ValueError:
            raise web.HTTPError(400, reason="The request's body is not JSON.") from None
        if isinstance(model, dict) and model.get("cwd"):
            policy.body_path(model["cwd"])

    @web.authenticated
    @authorized
    async def get(self, machine_id: str, terminal: str) -> None:
        await self.relay()

    @web.authenticated
    @authorized
    async def post(self, machine_id: str, terminal: str) -> None:
        await self.relay()

    @web.authenticated
    @authorized
    async def delete(self, machine_id: str, terminal: str) -> None:
        await self.relay()


async def _maybe_await(value: Any) -> Any:
    return await value if hasattr(value, "__await__") else value


ROUTES: list[tuple[str, Any]] = [
    (rf"{SERVER}/api/contents(?P<file_path>/.*|)", MachineContentsProxyHandler),
    (rf"{SERVER}/files(?P<file_path>/.+)", MachineFilesProxyHandler),
    (rf"{SERVER}/api/terminals(?P<terminal>/{TERMINAL_NAME}|)", MachineTerminalsProxyHandler),
]
