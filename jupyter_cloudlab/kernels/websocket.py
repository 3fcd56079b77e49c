"""Kernel websockets: local kernels as jupyter_server does it, remote kernels as a frame relay.

For a remote kernel the browser's socket is joined to the gateway's socket for the same kernel:

* The upstream socket opens in ``prepare()`` (before the browser's handshake completes) offering
  the browser's subprotocols, and the browser then gets exactly the protocol the gateway chose.
  Choosing independently is the classic bug: v1 accepted here, legacy JSON frames from there, and
  kernel_info never answers.
* The upstream uses the browser's ``session_id``: the gateway buffers output per kernel and
  session while no client listens, and replays it only to that session.
* Frames pass through untouched, both ways, text and binary; no re-serialisation.
* When the upstream closes, the browser's socket is closed too, so JupyterLab's own reconnect
  (which comes back through here and opens a fresh upstream) and its kernel status take over.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, ClassVar

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from tornado import web
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError

from .manager import RemoteKernel
from .remote import RemoteServerError

# An upstream opened in prepare() whose browser handshake then failed (origin check, client gone)
# would otherwise stay open forever.
UNUSED_UPSTREAM_TIMEOUT = 60.0
# Close codes a server may send on; others (1005, 1006, 1015, None) become 1011.
_FORWARDABLE_CLOSE_CODES = {1000, 1001, *range(1007, 1012)}


class CloudLabWebsocketConnection(ZMQChannelsWebsocketConnection):
    """ZMQChannelsWebsocketConnection for local kernels; a relay to the gateway for remote ones."""

    _remote_connections: ClassVar[weakref.WeakSet[CloudLabWebsocketConnection]] = weakref.WeakSet()

    _upstream: WebSocketClientConnection | None = None
    _pump: asyncio.Task[None] | None = None
    _relay_started = False
    _relay_closed = False

    @property
    def remote_kernel(self) -> RemoteKernel | None:
        parent = self.parent
        return parent if isinstance(parent, RemoteKernel) else None

    @classmethod
    async def close_all(cls) -> None:
        """Close relays too at server shutdown (the remote kernels keep running)."""
        for connection in list(cls._remote_connections):
            connection._close_relay(1001, "server shutting down")
        await super().close_all()

    # -- lifecycle ------------------------------------------------------------------------------

    async def prepare(self) -> None:
        rk = self.remote_kernel
        if rk is None:
            await super().prepare()
            return
        header = self.websocket_handler.request.headers.get("Sec-WebSocket-Protocol", "")
        offered = [p.strip() for p in header.split(",") if p.strip()]
        try:
            self._upstream = await rk.client.connect_channels(
                rk.kernel_id, self.session.session, offered
            )
        except RemoteServerError as e:
            self.log.warning("Cannot reach kernel %s on %s: %s", rk.kernel_id, rk.machine_id, e)
            code = 404 if e.status_code == 404 else (503 if e.unreachable else 502)
            raise web.HTTPError(code, f"Remote kernel unavailable: {e.message}") from e
        # "" means legacy to KernelWebsocketHandler.select_subprotocol; None would mean "v1".
        self.kernel_ws_protocol = self._upstream.selected_subprotocol or ""
        self._remote_connections.add(self)
        rk.add_closer(self._close_relay)
        IOLoop.current().call_later(UNUSED_UPSTREAM_TIMEOUT, self._close_if_unused)

    async def connect(self) -> None:  # type: ignore[override]
        if self.remote_kernel is None:
            connected = super().connect()
            if connected is not None:
                await connected
            return
        if self._upstream is None or self._relay_closed:
            self._close_relay(1011, "upstream kernel connection closed")
            return
        self._relay_started = True
        # Tornado leaves Nagle on for websockets: each small frame would wait ~40 ms for an ACK.
        self.websocket_handler.set_nodelay(True)
        self._pump = asyncio.create_task(self._pump_upstream(self._upstream))

    def disconnect(self) -> None:  # type: ignore[override]
        # Synchronous like ZMQChannelsWebsocketConnection's (the ABC says async; the handler's
        # on_close calls it without awaiting).
        if self.remote_kernel is None:
            super().disconnect()
            return
        # The browser left: close upstream so the gateway starts buffering for this session.
        self._close_relay(None, None)

    def handle_incoming_message(self, incoming_msg: str | bytes) -> None:
        if self.remote_kernel is None:
            super().handle_incoming_message(incoming_msg)  # type: ignore[arg-type]
            return
        upstream = self._upstream
        if upstream is None or self._relay_closed:
            return
        try:
            future = upstream.write_message(incoming_msg, binary=isinstance(incoming_msg, bytes))
        except WebSocketClosedError:
            return  # the pump sees the close and tears the relay down
        future.add_done_callback(_ignore_closed)

    # -- relay ----------------------------------------------------------------------------------

    async def _pump_upstream(self, upstream: WebSocketClientConnection) -> None:
        """Copy gateway frames to the browser until either side closes; then close both."""
        try:
            while True:
                message = await upstream.read_message()
                if message is None:
                    break
                # Awaiting the write passes the browser's back-pressure on to the gateway.
                await self.websocket_handler.write_message(
                    message, binary=isinstance(message, bytes)
                )
        except WebSocketClosedError:
            pass
        except Exception:
            self.log.exception("Relay of kernel %s failed", self.kernel_id)
        code = upstream.close_code
        reason = upstream.close_reason or "upstream kernel connection closed"
        self._close_relay(code if code in _FORWARDABLE_CLOSE_CODES else 1011, reason)

    def _close_relay(self, code: int | None, reason: str | None) -> None:
        """Close both hops once. ``code`` None: the browser already closed its side."""
        if self._relay_closed:
            return
        self._relay_closed = True
        self._remote_connections.discard(self)
        if self.remote_kernel is not None:
            self.remote_kernel.remove_closer(self._close_relay)
        if self._upstream is not None:
            self._upstream.close(1000, "client disconnected" if code is None else None)
        if code is not None and self.websocket_handler.ws_connection is not None:
            self.log.info("Closing browser socket of kernel %s: %s", self.kernel_id, reason)
            self.websocket_handler.close(code, reason)
        if not self._close_future.done():
            self._close_future.set_result(None)

    def _close_if_unused(self) -> None:
        if not self._relay_started and not self._relay_closed:
            self.log.debug("Browser never completed its handshake; closing upstream")
            self._close_relay(None, None)


def _ignore_closed(future: asyncio.Future[Any]) -> None:
    """Retrieve a send's exception so a send racing a close doesn't log as never retrieved."""
    if not future.cancelled():
        future.exception()
