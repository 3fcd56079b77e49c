"""The relay's websocket to a machine's server, read as it arrives (an asyncio protocol).

tornado's websocket client hands over whole messages only: a 50 MB output is first received
completely and copied, then sent on, so the browser waits for the transfer twice and the local
server holds several copies of it. Here the machine server's frames are read as bytes (ws_frames.py): a
large message is handed out piece by piece as it arrives, so the relay can pass it on while it
streams in (see browser_output.py), and a small one keeps its frame, which the browser gets as is.
wsproto does the handshake and writes the relay's own (masked) frames.

Only :mod:`..server_client` opens these (the one place that talks to a machine server); it maps the errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

from .ws_frames import OP_CLOSE, OP_PING, Control, FrameReader, Piece, ProtocolViolation

# Received bytes held before reading from the machine server pauses (the browser is slower): TCP then
# pushes back through the tunnel to the machine.
PAUSE_ABOVE_BYTES = 1024 * 1024
# 1006: closed without a close frame (RFC 6455): the link died, the tunnel was cut.
ABNORMAL_CLOSURE = 1006
# The upgrade's answer (status line and headers) is a few hundred bytes; tornado's servers refuse
# request heads past 64 KiB. Past this the machine server is not speaking HTTP to us.
MAX_HANDSHAKE_BYTES = 64 * 1024
# Of a refused upgrade's body only the error message is used.
MAX_REJECTION_BODY_BYTES = 64 * 1024


class HandshakeRejected(Exception):
    """The machine server answered the upgrade with an HTTP error (404: no such kernel there)."""

    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.body = body


class HandshakeTooLarge(Exception):
    """The machine server's answer to the upgrade passed ``MAX_HANDSHAKE_BYTES`` without ending."""


class _Inbound(asyncio.Protocol):
    """What the machine server sends, as it was received: the handshake's answer, then frames straight
    into the frame reader (no stream buffer in between to copy each byte through)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.head: bytearray | None = bytearray()
        """The bytes received while the handshake lasts; None after it."""
        self.frames = FrameReader()
        self.ended = False
        self.last_heard = asyncio.get_running_loop().time()
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_heard = asyncio.get_running_loop().time()
        if self.head is not None:
            self.head += data
            # Bounded while the handshake is read: frames right behind the answer (a replay) wait
            # in the kernel's socket buffer until they go to the frame reader, which pauses too.
            if len(self.head) > PAUSE_ABOVE_BYTES and self.transport is not None:
                self.transport.pause_reading()
        else:
            self.frames.feed(data)
            if self.frames.buffered > PAUSE_ABOVE_BYTES and self.transport is not None:
                self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self._wake()

    def frames_from(self, offset: int) -> None:
        """The handshake's answer ended at ``offset``: what follows are frames."""
        assert self.head is not None
        self.frames.feed(bytes(self.head[offset:]))
        self.head = None

    async def more(self) -> None:
        """Wait for more bytes (or the end); reading resumes if it was paused."""
        if self.ended:
            return
        if self.transport is not None:
            self.transport.resume_reading()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class UpstreamSocket:
    """A client websocket to a machine server's kernel channels; read with :meth:`receive`."""

    def __init__(
        self,
        inbound: _Inbound,
        connection: WSConnection,
        subprotocol: str | None,
        ping_interval: float,
        ping_timeout: float,
    ) -> None:
        assert inbound.transport is not None
        self._inbound = inbound
        self._transport = inbound.transport
        self._connection = connection
        self.selected_subprotocol = subprotocol
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._keepalive = asyncio.create_task(self._keep_alive(ping_interval, ping_timeout))

    @classmethod
    async def open(
        cls,
        url: str,
        headers: dict[str, str],
        subprotocols: list[str],
        timeout: float,
        ping_interval: float,
        ping_timeout: float,
        socket_path: str | None = None,
    ) -> UpstreamSocket:
        """Connect and upgrade; raises OSError, TimeoutError, :class:`HandshakeRejected` or
        :class:`HandshakeTooLarge`. ``socket_path``: connect to that Unix socket (the tunnel's
        local end), not to the URL's host and port; a ``Host`` in ``headers`` is sent as the
        request's host."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        extra = {k: v for k, v in headers.items() if k.lower() != "host"}
        host_header = next((v for k, v in headers.items() if k.lower() == "host"), parts.netloc)
        loop = asyncio.get_running_loop()
        if socket_path is not None:
            opening = loop.create_unix_connection(_Inbound, socket_path)
        else:
            opening = loop.create_connection(
                _Inbound, parts.hostname or "127.0.0.1", parts.port or 80
            )
        transport, inbound = await asyncio.wait_for(opening, timeout)
        try:
            sock = transport.get_extra_info("socket")
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                # Without it each small frame waits ~40 ms for the peer's delayed ACK (Nagle).
                # A Unix socket has no Nagle (and refuses the option).
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = WSConnection(ConnectionType.CLIENT)
            request = Request(
                host=host_header,
                target=target,
                extra_headers=[(k.lower().encode(), v.encode()) for k, v in extra.items()],
                subprotocols=subprotocols,
            )
            transport.write(connection.send(request))
            accepted = await asyncio.wait_for(_handshake(inbound, connection), timeout)
        except BaseException:
            transport.abort()
            raise
        return cls(inbound, connection, accepted.subprotocol, ping_interval, ping_timeout)

    @property
    def buffered(self) -> int:
        """Bytes received from the machine server and not handed out yet."""
        return self._inbound.frames.buffered

    async def receive(self) -> Piece | None:
        """The next piece of a message; None once the socket is closed (see ``close_code``)."""
        while True:
            try:
                event = self._inbound.frames.next()
            except ProtocolViolation as e:
                self._closed(1002, str(e))
                return None
            if isinstance(event, Piece):
                return event
            if event is not None:
                self._control(event)
                continue
            if self.close_code is not None:
                return None
            if self._inbound.ended:
                self._closed(ABNORMAL_CLOSURE, None)
                return None
            await self._inbound.more()

    def _control(self, control: Control) -> None:
        if control.opcode == OP_PING:
            self._send(Pong(control.payload))
        elif control.opcode == OP_CLOSE:
            code, reason = control.close_code_and_reason()
            self.close(code, reason)  # answers with the same code, as RFC 6455 asks

    def write_message(self, frame: str | bytes) -> None:
        """Queue a message for the machine server (asyncio's transport buffers it)."""
        message = BytesMessage(frame) if isinstance(frame, bytes) else TextMessage(frame)
        self._send(message)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Send a close frame if still open, then close the connection."""
        if self._connection.state is ConnectionState.OPEN:
            self._send(CloseConnection(code, reason))
        self._closed(code, reason)

    def _send(self, event: Event) -> None:
        if self._transport.is_closing():
            return
        with contextlib.suppress(LocalProtocolError):
            self._transport.write(self._connection.send(event))

    def _closed(self, code: int, reason: str | None) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._keepalive.cancel()
        self._transport.close()  # flushes what is queued, then FIN

    async def _keep_alive(self, interval: float, timeout: float) -> None:
        """Ping while quiet; a link that stays silent past ``timeout`` is dead: end it now, not
        at the next TCP timeout (a cut tunnel never sends a FIN)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            if loop.time() - self._inbound.last_heard > timeout:
                self._transport.abort()  # the pending read then sees the end
                return
            self._send(Ping())


async def _handshake(inbound: _Inbound, connection: WSConnection) -> AcceptConnection:
    """Read the machine server's answer to the upgrade, and no further: frames the machine server sent right
    after it (a replay) go to the frame reader."""
    assert inbound.head is not None
    while (end := inbound.head.find(b"\r\n\r\n", 0, MAX_HANDSHAKE_BYTES)) < 0:
        if len(inbound.head) >= MAX_HANDSHAKE_BYTES:
            raise HandshakeTooLarge(
                f"the machine server's answer to the upgrade passed {MAX_HANDSHAKE_BYTES // 1024}"
                " KiB without ending; it is not a websocket server"
            )
        if inbound.ended:
            raise ConnectionResetError(
                "the machine server closed the connection during the handshake"
            )
        await inbound.more()
    fed = end + 4
    connection.receive_data(bytes(inbound.head[:fed]))
    rejected: RejectConnection | None = None
    body = b""
    while True:
        for event in connection.events():
            if isinstance(event, AcceptConnection):
                inbound.frames_from(fed)
                return event
            if isinstance(event, RejectConnection):
                rejected = event
                if not event.has_body:
                    raise HandshakeRejected(event.status_code, b"")
            if isinstance(event, RejectData):
                body += event.data
                if rejected is not None and (
                    event.body_finished or len(body) >= MAX_REJECTION_BODY_BYTES
                ):  # the start of a long body holds its message; the rest is not read
                    raise HandshakeRejected(rejected.status_code, body[:MAX_REJECTION_BODY_BYTES])
        if fed == len(inbound.head):
            if inbound.ended:
                raise ConnectionResetError(
                    "the machine server closed the connection during the handshake"
                )
            await inbound.more()
            continue
        connection.receive_data(bytes(inbound.head[fed:]))
        fed = len(inbound.head)
