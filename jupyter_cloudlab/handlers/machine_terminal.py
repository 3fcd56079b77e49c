"""A machine terminal's websocket: the browser's JupyterLab terminal joined to terminado's on the
machine server (``<base>/cloudlab/machines/<id>/server/terminals/websocket/<name>``).

Messages pass unchanged both ways. When the link to the machine drops, the terminal is told in
its own words (a line of output), then the browser's socket is closed with code 1011:
JupyterLab's TerminalConnection reconnects by itself (backoff, up to 7 tries), and terminado on
the machine has kept the shell and its recent output, so the same session comes back. A machine
that is not ready answers the upgrade with a 409/503 sentence, never a hang: every refusal before
the upgrade is the JSON {message, reason} of every CloudLab route (JsonErrors).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClientConnection, WebSocketHandler

from ..kernels.relay.terminal import open_terminal_socket
from ..kernels.server_client import MachineServerError
from ..session.backend import CloudLabBackend
from .errors import JsonErrors
from .machine_proxy import SERVER, TERMINAL_NAME
from .machine_reach import reachable_machine_server

# RFC 6455: the server met a condition that stopped it (here: the machine's end went away).
LINK_LOST = 1011
LINK_LOST_REASON = "The link to the machine dropped; reconnecting."


class MachineTerminalSocketHandler(WebSocketMixin, WebSocketHandler, JsonErrors):
    auth_resource = "terminals"
    _upstream: WebSocketClientConnection | None = None
    _pump: asyncio.Task[None] | None = None

    @ws_authenticated
    async def get(self, machine_id: str, terminal_name: str) -> None:
        user = self.current_user
        if not await ensure_async(
            self.authorizer.is_authorized(self, user, "execute", self.auth_resource)
        ):
            raise web.HTTPError(403)
        backend: CloudLabBackend = self.settings["cloudlab_backend"]
        machine_server = await reachable_machine_server(backend, machine_id)  # or 404/409/503
        self._machine_name = machine_server.machine_name
        try:
            # Before the upgrade, so a missing terminal is a 404 JupyterLab shows, not an open
            # socket that says nothing.
            self._upstream = await open_terminal_socket(machine_server, terminal_name)
        except MachineServerError as e:
            machine = machine_server.machine_name
            if e.status_code == 404:
                raise web.HTTPError(
                    404,
                    reason=f"There is no terminal '{terminal_name}' on '{machine}' (its shell "
                    "ended or the machine restarted): open a new terminal.",
                ) from None
            raise web.HTTPError(
                503,
                reason=f"The terminal on '{machine}' is not reachable (HTTP {e.status_code}): "
                "try again in a moment.",
            ) from None
        await super().get(machine_id, terminal_name)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open()  # WebSocketMixin: pings to the browser
        self._pump = asyncio.ensure_future(self._machine_to_browser())

    async def _machine_to_browser(self) -> None:
        assert self._upstream is not None
        while True:
            message = await self._upstream.read_message()
            if message is None:
                break
            with contextlib.suppress(web.HTTPError, Exception):
                self.write_message(message, binary=isinstance(message, bytes))
        if self.ws_connection is None:
            return  # the browser left first
        note = f"\r\n[CloudLab: the link to '{self._machine_name}' dropped; reconnecting…]\r\n"
        with contextlib.suppress(Exception):
            self.write_message(json.dumps(["stdout", note]))
        self.close(LINK_LOST, LINK_LOST_REASON)

    def on_message(self, message: str | bytes) -> None:
        if self._upstream is not None:
            self._upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        if self._upstream is not None:
            self._upstream.close()  # terminado keeps the shell for the next socket


ROUTES: list[tuple[str, Any]] = [
    (
        rf"{SERVER}/terminals/websocket/(?P<terminal_name>{TERMINAL_NAME})",
        MachineTerminalSocketHandler,
    ),
]
