"""The relay's websocket to a machine's gateway, read as it arrives (asyncio streams).

tornado's websocket client hands over whole messages only: a 50 MB output is first received
completely and copied, then sent on, so the browser waits for the transfer twice and the local
server holds several copies of it. Here the gateway's frames are read as bytes (ws_frames.py): a
large message is handed out piece by piece as it arrives, so the relay can pass it on while it
streams in (see relay_output.py), and a small one keeps its frame, which the browser gets as is.
wsproto does the handshake and writes the relay's own (masked) frames.

Only :mod:`.remote` opens these (the one place that talks to a gateway); it maps the errors.
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

READ_CHUNK = 256 * 1024
# 1006: closed without a close frame (RFC 6455): the link died, the tunnel was cut.
ABNORMAL_CLOSURE = 1006


class HandshakeRejected(Exception):
    """The gateway answered the upgrade with an HTTP error (404: no such kernel there)."""

    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.body = body


class UpstreamSocket:
    """A client websocket to a gateway's kernel channels; read with :meth:`receive`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: WSConnection,
        subprotocol: str | None,
        ping_interval: float,
        ping_timeout: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._connection = connection
        self._frames = FrameReader()
        self.selected_subprotocol = subprotocol
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._last_heard = asyncio.get_running_loop().time()
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
    ) -> UpstreamSocket:
        """Connect and upgrade; raises OSError, TimeoutError or :class:`HandshakeRejected`."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=READ_CHUNK), timeout
        )
        try:
            # Without it each small frame waits ~40 ms for the peer's delayed ACK (Nagle).
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = WSConnection(ConnectionType.CLIENT)
            request = Request(
                host=parts.netloc,
                target=target,
                extra_headers=[(k.lower().encode(), v.encode()) for k, v in headers.items()],
                subprotocols=subprotocols,
            )
            writer.write(connection.send(request))
            accepted = await asyncio.wait_for(_handshake(reader, connection), timeout)
        except BaseException:
            writer.transport.abort()
            raise
        return cls(reader, writer, connection, accepted.subprotocol, ping_interval, ping_timeout)

    async def receive(self) -> Piece | None:
        """The next piece of a message; None once the socket is closed (see ``close_code``)."""
        while True:
            try:
                event = self._frames.next()
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
            try:
                data = await self._reader.read(READ_CHUNK)
            except OSError:
                data = b""
            self._last_heard = asyncio.get_running_loop().time()
            if not data:
                self._closed(ABNORMAL_CLOSURE, None)
                return None
            self._frames.feed(data)

    def _control(self, control: Control) -> None:
        if control.opcode == OP_PING:
            self._send(Pong(control.payload))
        elif control.opcode == OP_CLOSE:
            code, reason = control.close_code_and_reason()
            self.close(code, reason)  # answers with the same code, as RFC 6455 asks

    def write_message(self, frame: str | bytes) -> None:
        """Queue a message for the gateway (asyncio's transport buffers it)."""
        message = BytesMessage(frame) if isinstance(frame, bytes) else TextMessage(frame)
        self._send(message)

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Send a close frame if still open, then close the connection."""
        if self._connection.state is ConnectionState.OPEN:
            self._send(CloseConnection(code, reason))
        self._closed(code, reason)

    def _send(self, event: Event) -> None:
        if self._writer.is_closing():
            return
        with contextlib.suppress(LocalProtocolError):
            self._writer.write(self._connection.send(event))

    def _closed(self, code: int, reason: str | None) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._keepalive.cancel()
        self._writer.close()  # flushes what is queued, then FIN

    async def _keep_alive(self, interval: float, timeout: float) -> None:
        """Ping while quiet; a link that stays silent past ``timeout`` is dead: end it now, not
        at the next TCP timeout (a cut tunnel never sends a FIN)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            if loop.time() - self._last_heard > timeout:
                self._writer.transport.abort()  # the pending read then sees the end
                return
            self._send(Ping())


async def _handshake(reader: asyncio.StreamReader, connection: WSConnection) -> AcceptConnection:
    """Read the gateway's answer to the upgrade, and no further: frames the gateway sent right
    after it (a replay) stay in ``reader`` for the frame reader."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        raise ConnectionResetError("the gateway closed the connection during the handshake") from e
    connection.receive_data(head)
    rejected: RejectConnection | None = None
    body = b""
    while True:
        for event in connection.events():
            if isinstance(event, AcceptConnection):
                return event
            if isinstance(event, RejectConnection):
                rejected = event
                if not event.has_body:
                    raise HandshakeRejected(event.status_code, b"")
            if isinstance(event, RejectData):
                body += event.data
                if event.body_finished and rejected is not None:
                    raise HandshakeRejected(rejected.status_code, body)
        data = await reader.read(READ_CHUNK)
        if not data:
            raise ConnectionResetError("the gateway closed the connection during the handshake")
        connection.receive_data(data)
