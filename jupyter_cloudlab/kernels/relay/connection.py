"""Kernel websockets: local kernels as jupyter_server does it, machine kernels as a frame relay.

For a machine kernel the browser's socket is joined to the machine server's socket for the same kernel:

* The upstream socket opens in ``prepare()`` (before the browser's handshake completes) offering
  the browser's subprotocols, and the browser then gets exactly the protocol the machine server chose.
  Choosing independently is the classic bug: v1 accepted here, legacy JSON frames from there, and
  kernel_info never answers.
* The upstream uses the browser's ``session_id``: the machine server buffers output per kernel and
  session while no client listens, and replays it only to that session.
* Frames pass through untouched, both ways, text and binary; no re-serialisation. A large output
  passes while it arrives rather than after (browser_output.py).
* When the upstream drops (tunnel cut, sshd restarted) the browser's socket stays open and the
  relay reconnects upstream with the same session id while the kernel's machine is ours: the
  machine server then replays what the kernel produced meanwhile, in order, so the browser sees no gap.
  The reconnect says which frame the browser got last (``resume_after=<msg_id>``): a link that
  died silently swallowed what the machine server wrote before it noticed, and the machine server resends that.
  Browser frames sent meanwhile wait in a bounded queue. The same holds across browser
  sockets: a session's next socket resumes where its previous relay stopped. When the machine leaves (stopped,
  terminated) or the kernel is gone there, the browser's socket is closed with the reason, so
  JupyterLab shows it; a socket is never left open and dead.
* A mirrored kernel's cells carry their files: its ``execute_request`` frames pass through a
  ``WorkspaceGate`` (workspace_gate.py) that pushes local changes first, keeping frames in order,
  and starts bringing back what the cell wrote once the machine says the cell is idle.
* TCP_NODELAY on the browser's socket, local kernels included: tornado leaves Nagle on, and
  every small frame then waits ~40 ms for the peer's delayed ACK.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from typing import ClassVar

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from tornado import web
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketClosedError

from ..machine_kernel import MachineKernel
from ..server_client import MachineServerError
from .browser_output import BrokenMessage, BrowserOutput, MessageTooLarge
from .upstream import UpstreamSocket
from .workspace_gate import WorkspaceGate

# An upstream opened in prepare() whose browser handshake then failed (origin check, client gone)
# would otherwise stay open forever.
UNUSED_UPSTREAM_TIMEOUT = 60.0
# Close codes a server may send on; others (1005, 1006, 1015, None) become 1011.
_FORWARDABLE_CLOSE_CODES = {1000, 1001, *range(1007, 1012)}
# Reconnecting upstream: first retry soon, then at most this far apart. While the tunnel is down
# its local socket refuses at once, so polling is cheap and a healed tunnel is used within 0.25 s.
RECONNECT_FIRST_DELAY = 0.1
RECONNECT_MAX_DELAY = 0.25
# Browser frames held while the upstream is away; past this the browser socket is closed (its own
# reconnect then takes over) rather than memory growing.
MAX_PENDING_FRAMES = 10_000
# Browser sessions whose resume point is remembered after their socket closed.
MAX_RESUME_POINTS = 1_000


class CloudLabWebsocketConnection(ZMQChannelsWebsocketConnection):
    """ZMQChannelsWebsocketConnection for local kernels; a relay to the machine server for machine kernels."""

    _remote_connections: ClassVar[weakref.WeakSet[CloudLabWebsocketConnection]] = weakref.WeakSet()
    # One relay per (kernel, browser session): a browser that reconnects before we noticed its old
    # socket died must replace the old relay, or the two would keep replacing each other upstream.
    _by_session: ClassVar[weakref.WeakValueDictionary[str, CloudLabWebsocketConnection]] = (
        weakref.WeakValueDictionary()
    )

    # Where each browser session's last relay stopped (the msg_id of the last message it wrote
    # whole): the session's next socket resumes there, so what the machine had sent into the
    # closing relay is resent rather than lost. Oldest first, bounded.
    _resume_points: ClassVar[OrderedDict[str, str]] = OrderedDict()

    _upstream: UpstreamSocket | None = None
    _output: BrowserOutput | None = None
    _pump: asyncio.Task[None] | None = None
    _relay_started = False
    _relay_closed = False
    _pending: list[str | bytes] | None = None
    _gate: WorkspaceGate | None = None
    reconnects = 0
    """How many times the upstream was re-established (for logs and tests)."""

    @property
    def machine_kernel(self) -> MachineKernel | None:
        parent = self.parent
        return parent if isinstance(parent, MachineKernel) else None

    @classmethod
    async def close_all(cls) -> None:
        """Close relays too at server shutdown (the machine kernels keep running)."""
        for connection in list(cls._remote_connections):
            connection._close_relay(1001, "server shutting down")
        await super().close_all()

    # -- lifecycle ------------------------------------------------------------------------------

    async def prepare(self) -> None:
        kernel = self.machine_kernel
        if kernel is None:
            await super().prepare()
            return
        self.session_key = f"{kernel.kernel_id}:{self.session.session}"
        stale = self._by_session.get(self.session_key)
        if stale is not None and stale is not self:
            self.log.warning("Replacing stale relay of kernel %s", kernel.kernel_id)
            stale._close_relay(1001, "replaced by a newer connection of the same session")
        self._by_session[self.session_key] = self
        header = self.websocket_handler.request.headers.get("Sec-WebSocket-Protocol", "")
        offered = [p.strip() for p in header.split(",") if p.strip()]
        resume_after = self._resume_points.pop(self.session_key, None)
        try:
            self._upstream = await kernel.client.connect_channels(
                kernel.kernel_id, self.session.session, offered, resume_after
            )
        except MachineServerError as e:
            self.log.warning(
                "Cannot reach kernel %s on %s: %s", kernel.kernel_id, kernel.machine_id, e
            )
            code = 404 if e.status_code == 404 else (503 if e.unreachable else 502)
            raise web.HTTPError(code, f"Machine kernel unavailable: {e.message}") from e
        # "" means legacy to KernelWebsocketHandler.select_subprotocol; None would mean "v1".
        self.kernel_ws_protocol = self._upstream.selected_subprotocol or ""
        self._remote_connections.add(self)
        kernel.add_closer(self._close_relay)
        IOLoop.current().call_later(UNUSED_UPSTREAM_TIMEOUT, self._close_if_unused)

    async def connect(self) -> None:  # type: ignore[override]
        # Tornado leaves Nagle on for websockets: each small frame would wait ~40 ms for an ACK.
        self.websocket_handler.set_nodelay(True)
        if self.machine_kernel is None:
            connected = super().connect()
            if connected is not None:
                await connected
            return
        if self._upstream is None or self._relay_closed:
            self._close_relay(1011, "upstream kernel connection closed")
            return
        self._relay_started = True
        self._output = BrowserOutput(self.websocket_handler, self.kernel_ws_protocol)
        self._gate = WorkspaceGate(
            self.machine_kernel,
            self.kernel_ws_protocol,
            self._pass_on,
            self._output.write_own,
        )
        self._pump = asyncio.create_task(self._relay(self._upstream))

    def disconnect(self) -> None:  # type: ignore[override]
        # Synchronous like ZMQChannelsWebsocketConnection's (the ABC says async; the handler's
        # on_close calls it without awaiting).
        if self.machine_kernel is None:
            super().disconnect()
            return
        # The browser left: close upstream so the machine server starts buffering for this session.
        self._close_relay(None, None)

    def handle_incoming_message(self, incoming_msg: str | bytes) -> None:
        if self.machine_kernel is None:
            super().handle_incoming_message(incoming_msg)  # type: ignore[arg-type]
            return
        if self._relay_closed:
            return
        if self._gate is not None:
            self._gate.submit(incoming_msg)  # back in _pass_on, after its files if a cell
        else:
            self._pass_on(incoming_msg)

    def _pass_on(self, incoming_msg: str | bytes) -> None:
        if self._relay_closed:
            return
        if self._pending is not None:  # upstream away: hold the frame until it is back
            if len(self._pending) >= MAX_PENDING_FRAMES:
                self._close_relay(1011, "too many messages while the machine was unreachable")
                return
            self._pending.append(incoming_msg)
            return
        self._send_upstream(incoming_msg)

    def _send_upstream(self, frame: str | bytes) -> None:
        if self._upstream is not None:
            self._upstream.write_message(frame)  # a closed one drops it: the relay reconnects

    # -- relay ----------------------------------------------------------------------------------

    async def _relay(self, upstream: UpstreamSocket) -> None:
        """Copy the machine server's frames to the browser; re-establish the upstream whenever it drops."""
        current: UpstreamSocket | None = upstream
        while current is not None:
            browser_gone = await self._pump_upstream(current)
            if self._relay_closed or browser_gone:
                break
            self.log.info(
                "Upstream of kernel %s dropped (%s %s); reconnecting",
                self.kernel_id,
                current.close_code,
                current.close_reason or "",
            )
            current = await self._reconnect()
        if not self._relay_closed:
            self._close_relay(1011, "upstream kernel connection closed")

    async def _pump_upstream(self, upstream: UpstreamSocket) -> bool:
        """Copy messages until the upstream closes; True when the relay should end (the browser
        went away, or a message it was given can't be finished)."""
        output = self._output
        assert output is not None
        try:
            gate = self._gate
            while (piece := await upstream.receive()) is not None:
                await output.feed(piece)
                if gate is not None:
                    gate.machine_piece(piece)
        except WebSocketClosedError:
            return True
        except BrokenMessage as e:
            self._close_relay(1011, str(e))
            return True
        except MessageTooLarge as e:
            self.log.warning("Kernel %s: %s; closing the browser's socket", self.kernel_id, e)
            self._close_relay(1009, str(e))  # 1009: message too big (RFC 6455)
            return True
        except Exception:
            self.log.exception("Relay of kernel %s failed", self.kernel_id)
            upstream.close(1011)  # a fresh upstream resumes after the last message delivered
        output.upstream_lost()
        return False

    async def _reconnect(self) -> UpstreamSocket | None:
        """Open a new upstream with the same session id, retrying while the kernel is ours.

        Returns None when the relay was closed instead (machine gone, kernel gone, browser left).
        """
        kernel = self.machine_kernel
        assert kernel is not None
        self._pending = []
        self._upstream = None
        manager = kernel.parent
        protocols = [self.kernel_ws_protocol] if self.kernel_ws_protocol else []
        delay = RECONNECT_FIRST_DELAY
        while not self._relay_closed:
            if manager is not None and not manager.is_machine_kernel(kernel.kernel_id):
                self._close_relay(1001, "the kernel's machine is gone")
                return None
            try:
                upstream = await kernel.client.connect_channels(
                    kernel.kernel_id, self.session.session, protocols, self._resume_after()
                )
            except MachineServerError as e:
                if e.status_code == 404:
                    self._close_relay(1011, "the kernel no longer exists on its machine")
                    return None
                self.log.debug("Upstream of kernel %s not back yet: %s", kernel.kernel_id, e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)
                continue
            if self._relay_closed:  # the browser left while we connected
                upstream.close(1000, "client disconnected")
                return None
            self._upstream = upstream
            self.reconnects += 1
            pending, self._pending = self._pending or [], None
            for frame in pending:
                self._send_upstream(frame)
            self.log.info("Upstream of kernel %s is back", kernel.kernel_id)
            return upstream
        return None

    def _resume_after(self) -> str | None:
        """The msg_id of the last message the browser got whole (where the machine server resumes)."""
        return self._output.last_msg_id if self._output is not None else None

    def _close_relay(self, code: int | None, reason: str | None) -> None:
        """Close both hops once. ``code`` None: the browser already closed its side."""
        if self._relay_closed:
            return
        self._relay_closed = True
        self._pending = None
        if self._gate is not None:
            self._gate.close()
        if (resume_after := self._resume_after()) is not None:
            self._resume_points[self.session_key] = resume_after
            while len(self._resume_points) > MAX_RESUME_POINTS:
                self._resume_points.popitem(last=False)
        self._remote_connections.discard(self)
        if self._by_session.get(self.session_key) is self:
            del self._by_session[self.session_key]
        if self.machine_kernel is not None:
            self.machine_kernel.remove_closer(self._close_relay)
        if self._upstream is not None:
            self._upstream.close(1000, "client disconnected" if code is None else None)
        if code is not None and self.websocket_handler.ws_connection is not None:
            code = code if code in _FORWARDABLE_CLOSE_CODES else 1011
            self.log.info("Closing browser socket of kernel %s: %s", self.kernel_id, reason)
            self.websocket_handler.close(code, reason)
        if not self._close_future.done():
            self._close_future.set_result(None)

    def _close_if_unused(self) -> None:
        if not self._relay_started and not self._relay_closed:
            self.log.debug("Browser never completed its handshake; closing upstream")
            self._close_relay(None, None)
