"""One HTTP request to a machine server with its bodies streamed both ways (h11 over the socket).

The REST client (server_client.py) holds a reply whole, which is right for kernel models but not
for a 1 GB upload or download through the machine proxy. Here the request body is written as it
comes and the reply is read piece by piece: each ``await`` on a write or a read waits for the
other side, so memory stays at a few chunks whatever the size, and a slow browser slows the
machine down through TCP instead of filling this server. The token goes only in the
``Authorization`` header; nothing here logs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import h11

from .machine_servers import MachineServer
from .server_client import CONNECT_TIMEOUT, SOCKET_HOST

# The reply's head (status and headers) must come within this after the request ended: a save
# of a big chunk on a slow disk takes seconds, a hung machine server forever.
HEAD_TIMEOUT = 120.0
# Silence in the middle of a reply body longer than this ends it (a cut tunnel sends nothing).
READ_IDLE_TIMEOUT = 60.0
READ_SIZE = 256 * 1024
# A reply's head is a few hundred bytes; past this the machine server is not speaking HTTP to us.
MAX_HEAD_BYTES = 64 * 1024


class ServerStreamError(Exception):
    """The machine server could not be reached, or broke off (no HTTP answer to pass on)."""


class ServerStream:
    """One request/reply exchange; call :meth:`send` for body parts, then :meth:`reply`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)

    @classmethod
    async def open(
        cls,
        machine_server: MachineServer,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
    ) -> ServerStream:
        """Connect and send the request's head. ``target``: the path and query on the machine
        server, already checked and quoted; ``headers``: those to pass on (no Host, no auth)."""
        try:
            if machine_server.socket_path is not None:
                opening = asyncio.open_unix_connection(machine_server.socket_path)
                host = SOCKET_HOST
            else:  # a plain server (tests): connect where its base URL says
                hostport = machine_server.base_url.split("://", 1)[-1].split("/", 1)[0]
                name, _, port = hostport.partition(":")
                opening = asyncio.open_connection(name, int(port or 80))
                host = hostport
            reader, writer = await asyncio.wait_for(opening, CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            raise ServerStreamError(
                f"the machine server did not answer ({e or 'timed out'})"
            ) from e
        stream = cls(reader, writer)
        request = h11.Request(
            method=method,
            target=target,
            headers=[
                ("Host", host),
                ("Authorization", f"token {machine_server.token}"),
                ("Connection", "close"),
                *headers,
            ],
        )
        await stream._write(request)
        return stream

    async def send(self, data: bytes) -> None:
        """A part of the request's body; waits while the machine server is slower."""
        if data:
            await self._write(h11.Data(data=data))

    async def reply(self) -> tuple[int, list[tuple[str, str]]]:
        """End the request and wait for the reply's status and headers (names lower case)."""
        await self._write(h11.EndOfMessage())
        event = await self._next(HEAD_TIMEOUT)
        while isinstance(event, h11.InformationalResponse):
            event = await self._next(HEAD_TIMEOUT)
        if not isinstance(event, h11.Response):
            raise ServerStreamError("the machine server broke off before answering")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
        return event.status_code, headers

    async def body(self) -> AsyncIterator[bytes]:
        """The reply's body, part by part, as it arrives."""
        while True:
            event = await self._next(READ_IDLE_TIMEOUT)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise ServerStreamError("the machine server broke off in the middle of a reply")

    def close(self) -> None:
        self._writer.close()

    async def _write(self, event: h11.Event) -> None:
        try:
            data = self._http.send(event)
            if data:
                self._writer.write(data)
                await self._writer.drain()
        except (OSError, h11.LocalProtocolError) as e:
            raise ServerStreamError(f"the link to the machine server broke ({e})") from e

    async def _next(self, timeout: float) -> object:
        while True:
            try:
                event = self._http.next_event()
            except h11.RemoteProtocolError as e:
                raise ServerStreamError(f"the machine server's reply is not HTTP ({e})") from e
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await asyncio.wait_for(self._reader.read(READ_SIZE), timeout)
            except asyncio.TimeoutError as e:
                raise ServerStreamError(f"the machine server was silent for {timeout:.0f} s") from e
            except OSError as e:
                raise ServerStreamError(f"the link to the machine server broke ({e})") from e
            self._http.receive_data(data)
