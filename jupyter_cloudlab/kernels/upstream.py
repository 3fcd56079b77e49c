"""The relay's websocket to a machine's gateway, read as it arrives (wsproto over asyncio streams).

tornado's websocket client hands over whole messages only: a 50 MB output is first received
completely and copied, then sent on, so the browser waits for the transfer twice and the local
server holds several copies of it. wsproto reports a message's payload piece by piece as the
bytes arrive, so the relay can pass a large message on while it streams in (see relay_output.py).

Only :mod:`.remote` opens these (the one place that talks to a gateway); it maps the errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

READ_CHUNK = 256 * 1024
# 1006: closed without a close frame (RFC 6455): the link died, the tunnel was cut.
ABNORMAL_CLOSURE = 1006


class HandshakeRejected(Exception):
    """The gateway answered the upgrade with an HTTP error (404: no such kernel there)."""

    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.body = body


@dataclass(frozen=True)
class Piece:
    """Part of a message from the gateway, in arrival order."""

    data: bytes | bytearray | str
    first: bool
    """It starts a message."""
    last: bool
    """It ends the message."""

    @property
    def binary(self) -> bool:
        return not isinstance(self.data, str)


class UpstreamSocket:
    """A client websocket to a gateway's kernel channels; read with :meth:`receive`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: WSConnection,
        subprotocol: str | None,
        events: list[Event],
        ping_interval: float,
        ping_timeout: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._connection = connection
        self._events = deque(events)
        self._in_message = False
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
            accepted, events = await asyncio.wait_for(_handshake(reader, connection), timeout)
        except BaseException:
            writer.transport.abort()
            raise
        return cls(
            reader, writer, connection, accepted.subprotocol, events, ping_interval, ping_timeout
        )

    async def receive(self) -> Piece | None:
        """The next piece of a message; None once the socket is closed (see ``close_code``)."""
        while True:
            while self._events:
                piece = self._handle(self._events.popleft())
                if piece is not None:
                    return piece
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
            try:
                self._connection.receive_data(data)
                self._events.extend(self._connection.events())
            except RemoteProtocolError as e:
                self._closed(
                    e.event_hint.code if isinstance(e.event_hint, CloseConnection) else 1002, str(e)
                )
                return None

    def _handle(self, event: Event) -> Piece | None:
        if isinstance(event, BytesMessage | TextMessage):
            piece = Piece(event.data, first=not self._in_message, last=event.message_finished)
            self._in_message = not event.message_finished
            return piece
        if isinstance(event, Ping):
            self._send(event.response())
        elif isinstance(event, CloseConnection):
            self._send(event.response())
            self._closed(event.code, event.reason)
        return None

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


async def _handshake(
    reader: asyncio.StreamReader, connection: WSConnection
) -> tuple[AcceptConnection, list[Event]]:
    """Read until the gateway accepts or rejects the upgrade; returns the events after it."""
    rejected: RejectConnection | None = None
    body = b""
    while True:
        data = await reader.read(READ_CHUNK)
        if not data:
            raise ConnectionResetError("the gateway closed the connection during the handshake")
        connection.receive_data(data)
        events = list(connection.events())
        for index, event in enumerate(events):
            if isinstance(event, AcceptConnection):
                return event, events[index + 1 :]
            if isinstance(event, RejectConnection):
                rejected = event
                if not event.has_body:
                    raise HandshakeRejected(event.status_code, b"")
            if isinstance(event, RejectData):
                body += event.data
                if event.body_finished and rejected is not None:
                    raise HandshakeRejected(rejected.status_code, body)
