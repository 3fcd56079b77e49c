"""The relay's upstream websocket against a machine server on loopback that misbehaves on purpose.

The machine server here is a small websocket server (wsproto over asyncio, the real protocol on a real
socket), so a test can make it answer an upgrade with 404, go silent, or send a large message
slowly: things the real jupyter_server only does by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, RejectConnection, RejectData, Request
from wsproto.frame_protocol import FrameProtocol

from jupyter_cloudlab.kernels.relay.upstream import (
    MAX_REJECTION_BODY_BYTES,
    PAUSE_ABOVE_BYTES,
    HandshakeRejected,
    HandshakeTooLarge,
    UpstreamSocket,
)

MachineServer = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter, WSConnection], Awaitable[None]
]


@contextlib.asynccontextmanager
async def machine_server(
    behaviour: MachineServer | None, accept: bool = True, with_accept: bytes = b""
) -> AsyncIterator[str]:
    """A websocket server on 127.0.0.1; yields its channels URL. ``with_accept``: bytes sent in
    the same write as the upgrade's answer (as a replay right behind it)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = WSConnection(ConnectionType.SERVER)
        while True:
            connection.receive_data(await reader.read(65536))
            requests = [e for e in connection.events() if isinstance(e, Request)]
            if requests:
                break
        if not accept:
            body = b'{"message": "Kernel does not exist: k-1"}'
            headers = [(b"content-length", str(len(body)).encode())]
            writer.write(connection.send(RejectConnection(404, headers, has_body=True)))
            writer.write(connection.send(RejectData(body)))
            await writer.drain()
            writer.close()
            return
        accepted = connection.send(AcceptConnection(subprotocol=requests[0].subprotocols[0]))
        writer.write(accepted + with_accept)
        if behaviour is not None:
            await behaviour(reader, writer, connection)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/api/kernels/k-1/channels?session_id=s-1"
    finally:
        server.close()


def open_upstream(
    url: str, ping_interval: float = 15, ping_timeout: float = 30
) -> Awaitable[UpstreamSocket]:
    return UpstreamSocket.open(
        url,
        {"Authorization": "token t"},
        ["v1.kernel.websocket.jupyter.org"],
        5,
        ping_interval,
        ping_timeout,
    )


async def test_a_refused_upgrade_says_the_status_and_message() -> None:
    async with machine_server(None, accept=False) as url:
        with pytest.raises(HandshakeRejected) as refused:
            await open_upstream(url)
    assert refused.value.status_code == 404
    assert b"Kernel does not exist" in refused.value.body


async def test_frames_in_the_same_packet_as_the_upgrade_answer_are_not_lost() -> None:
    # Given a machine server whose answer to the upgrade carries two messages right behind it (as when
    # it replays what it buffered for this session)
    server_side = FrameProtocol(client=False, extensions=[])
    replay = bytes(server_side.send_data(b"first", fin=True)) + bytes(
        server_side.send_data(b"second", fin=True)
    )

    async def linger(_r: asyncio.StreamReader, _w: asyncio.StreamWriter, _c: WSConnection) -> None:
        await asyncio.sleep(1)

    async with machine_server(linger, with_accept=replay) as url:
        upstream = await open_upstream(url)
        # Then both arrive, whole and in order
        pieces = [await asyncio.wait_for(upstream.receive(), 5) for _ in range(2)]
        assert [bytes(p.data) for p in pieces if p is not None] == [b"first", b"second"]
        upstream.close()


async def test_a_large_message_arrives_in_pieces_while_it_is_sent() -> None:
    # Given a machine server that sends a 4 MB message in eight parts, half a second apart
    total = 4 * 1024 * 1024
    sent = asyncio.Event()

    async def slow(_r: asyncio.StreamReader, w: asyncio.StreamWriter, c: WSConnection) -> None:
        frame = c.send(BytesMessage(bytes(i % 251 for i in range(total))))
        step = len(frame) // 8 + 1
        for start in range(0, len(frame), step):
            w.write(frame[start : start + step])
            await w.drain()
            await asyncio.sleep(0.5)
        sent.set()
        await asyncio.sleep(1)

    async with machine_server(slow) as url:
        upstream = await open_upstream(url)
        # Then the first piece is there before the machine server has sent the rest
        first = await asyncio.wait_for(upstream.receive(), 10)
        assert first is not None and first.first and not first.last
        assert not sent.is_set()
        # And the pieces make up the message, byte for byte
        pieces = [first]
        while not pieces[-1].last:
            piece = await asyncio.wait_for(upstream.receive(), 10)
            assert piece is not None
            pieces.append(piece)
        data = b"".join(p.data for p in pieces if not isinstance(p.data, str))
        assert data == bytes(i % 251 for i in range(total))
        upstream.close()


async def test_a_reader_that_does_not_keep_up_holds_a_bounded_amount() -> None:
    # Given a machine server sending a 64 MB message as fast as the socket takes it
    total = 64 * 1024 * 1024

    async def flood(_r: asyncio.StreamReader, w: asyncio.StreamWriter, c: WSConnection) -> None:
        w.write(c.send(BytesMessage(bytes(total))))
        await w.drain()
        await asyncio.sleep(1)

    async with machine_server(flood) as url:
        upstream = await open_upstream(url)
        # When the relay reads nothing for a while (its browser is slow)
        await asyncio.sleep(1.0)
        # Then it has taken in about the pause threshold, not the message: the rest waits in TCP
        assert 0 < upstream.buffered <= PAUSE_ABOVE_BYTES + 256 * 1024
        # And once it reads again, the whole message comes through
        received, last = 0, False
        while not last:
            piece = await asyncio.wait_for(upstream.receive(), 10)
            assert piece is not None
            received, last = received + len(piece.data), piece.last
            assert upstream.buffered <= PAUSE_ABOVE_BYTES + 256 * 1024
        assert received == total
        upstream.close()


async def test_a_silent_machine_server_is_given_up_after_the_ping_timeout() -> None:
    # Given a machine server that accepts, then never answers anything (a link that died without a FIN)
    async def silent(_r: asyncio.StreamReader, _w: asyncio.StreamWriter, _c: WSConnection) -> None:
        await asyncio.sleep(30)

    async with machine_server(silent) as url:
        upstream = await open_upstream(url, ping_interval=0.2, ping_timeout=1.0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Then the socket ends by itself within about the ping timeout, as an abnormal closure
        assert await asyncio.wait_for(upstream.receive(), 10) is None
        assert loop.time() - started < 3
        assert upstream.close_code == 1006


@contextlib.asynccontextmanager
async def raw_machine_server(
    answer: bytes, repeat: bytes = b"", times: int = 0
) -> AsyncIterator[str]:
    """A server that answers any request with ``answer`` and then ``repeat``, ``times`` times (as
    fast as the socket takes it): not a websocket server, or a hostile one."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        with contextlib.suppress(ConnectionError):
            for _ in range(times):
                writer.write(repeat)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/api/kernels/k-1/channels?session_id=s-1"
    finally:
        server.close()


async def test_an_upgrade_answer_without_end_is_refused_past_its_bound() -> None:
    # Given a "machine server" whose answer to the upgrade never ends its headers (64 MB of them)
    line = b"X-Junk: " + b"a" * 1000 + b"\r\n"
    async with raw_machine_server(b"HTTP/1.1 101 Switching Protocols\r\n", line, 64 * 1024) as url:
        # When the relay opens its upstream, Then it gives up past the bound, with a sentence
        with pytest.raises(HandshakeTooLarge, match="passed 64 KiB"):
            await asyncio.wait_for(open_upstream(url), 30)


async def test_a_refusal_with_a_huge_body_keeps_only_its_start() -> None:
    # Given a machine server that refuses the upgrade with a 64 MB body
    head = b"HTTP/1.1 404 Not Found\r\nContent-Length: 67108864\r\n\r\n"
    async with raw_machine_server(
        head + b'{"message": "no such kernel"}', b"x" * 65536, 1024
    ) as url:
        # When the relay opens its upstream, Then the refusal says why, from the body's start only
        with pytest.raises(HandshakeRejected) as refused:
            await asyncio.wait_for(open_upstream(url), 30)
    assert refused.value.status_code == 404
    assert refused.value.body.startswith(b'{"message": "no such kernel"}')
    assert len(refused.value.body) <= MAX_REJECTION_BODY_BYTES
