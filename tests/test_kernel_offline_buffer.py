"""The machine's offline buffer (remote/cloudlab_server.py, run inside the machine's server) is
bounded: past the bound, output is dropped and the returning client is told how much."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.machine_server import MachineServerProcess, start_machine_server

BOUND = 1_000_000
LINE = 100_000
LINES = 40
# Prints 4 MB while nobody listens (after the client has left).
CHATTY = f"import time\ntime.sleep(1.5)\nfor i in range({LINES}):\n    print(f'{{i:03d}}' + 'x' * {LINE}, flush=True)"
WAIT = 120.0


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[MachineServerProcess]:
    server = start_machine_server(tmp_path / "machine", offline_buffer_bytes=BOUND)
    yield server
    server.delete_all_kernels()
    server.stop()


async def test_overflowing_buffer_drops_output_and_says_how_much(
    machine: MachineServerProcess,
) -> None:
    # Given a client that starts a chatty cell and leaves at once
    kernel = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    session_id = secrets.token_hex(8)
    client = await machine.open_channel(kernel["id"], session_id)
    await client.execute("1")
    msg_id = await client.send_execute(CHATTY)
    client.close()

    # When the cell has finished while nobody listened
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    await asyncio.sleep(2.0)  # the cell is still sleeping: it has not printed yet
    while (await machine.fetch("GET", f"api/kernels/{kernel['id']}"))["execution_state"] != "idle":
        assert loop.time() < deadline, "the cell never finished"
        await asyncio.sleep(0.2)

    # Then the same session gets what fitted (in order, from the start), a notice of the rest,
    # and the reply
    client = await machine.open_channel(kernel["id"], session_id)
    result = await client.collect(msg_id, timeout=WAIT)
    client.close()
    assert result.reply["status"] == "ok"
    kept = [line[:3] for line in result.stdout.split()]
    assert kept == [f"{i:03d}" for i in range(len(kept))]
    assert 0 < len(kept) * LINE <= BOUND
    notices = [
        m.content["text"]
        for m in result.messages
        if m.msg_type == "stream" and m.content.get("name") == "stderr"
    ]
    assert len(notices) == 1 and "were dropped while no client was connected" in notices[0]
    assert "at most 1 MB per kernel" in notices[0]


# Prints 0-4, pauses (the client has left by then), prints 5-9.
TWO_HALVES = (
    "import time\nfor i in range(10):\n    print(i, flush=True)\n"
    "    time.sleep(1.5 if i == 4 else 0.1)"
)


async def test_resume_after_resends_what_was_sent_after_it_then_the_buffer(
    machine: MachineServerProcess,
) -> None:
    # Given a client that got the first half of a cell's output, but (as on a link that died
    # without a close) only had the frames up to execute_input when it left
    kernel = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    session_id = secrets.token_hex(8)
    client = await machine.open_channel(kernel["id"], session_id)
    await client.execute("1")
    msg_id = await client.send_execute(TWO_HALVES)
    resume_after = await client.id_of(msg_id, "execute_input")
    await client.wait_for_stdout(msg_id, "4\n")
    client.close()

    # When it comes back with the same session, resuming after the last frame it had
    client = await machine.open_channel(kernel["id"], session_id, resume_after=resume_after)
    result = await client.collect(msg_id, timeout=WAIT)
    client.close()

    # Then it gets the frames it lost, then what was buffered while it was away: each line once
    assert result.reply["status"] == "ok"
    assert result.stdout == "".join(f"{i}\n" for i in range(10))


# Prints 4 MB at once: more than the resend log below keeps.
BURST = f"for i in range({LINES}):\n    print(f'{{i:03d}}' + 'x' * {LINE}, flush=True)"


@pytest.mark.parametrize("v1", [True, False], ids=["v1", "legacy"])
async def test_output_the_resend_log_let_go_is_announced_in_its_cell(
    tmp_path: Path, v1: bool
) -> None:
    # Given a machine that keeps 1 MB of sent output per session to resend, and a client that
    # ran a cell printing 4 MB but (as on a link that died without a close) only had the frames
    # up to execute_input when it left
    server = start_machine_server(tmp_path / "machine", resume_buffer_bytes=BOUND)
    try:
        kernel = await server.fetch("POST", "api/kernels", {"name": "python3"})
        session_id = secrets.token_hex(8)
        client = await server.open_channel(kernel["id"], session_id, v1=v1)
        await client.execute("1")
        msg_id = await client.send_execute(BURST)
        resume_after = await client.id_of(msg_id, "execute_input")
        await client.collect(msg_id, timeout=WAIT)
        client.close()

        # When it comes back resuming after that frame
        client = await server.open_channel(
            kernel["id"], session_id, resume_after=resume_after, v1=v1
        )
        result = await client.collect(msg_id, timeout=WAIT)
        client.close()
    finally:
        server.delete_all_kernels()
        server.stop()

    # Then the cell shows how much output is lost, then the last lines the machine still had,
    # in order, and the cell completes
    assert result.reply["status"] == "ok"
    kept = [line[:3] for line in result.stdout.split()]
    assert kept == [f"{i:03d}" for i in range(LINES - len(kept), LINES)]
    assert 0 < len(kept) * LINE <= BOUND + LINE
    streams = [m for m in result.messages if m.msg_type == "stream"]
    assert streams[0].content["name"] == "stderr"
    assert (
        streams[0].content["text"].startswith(f"[CloudLab] {LINES - len(kept)} output message(s)")
    )
    assert "were lost with the connection" in streams[0].content["text"]
    assert [m.content["name"] for m in streams[1:]] == ["stdout"] * len(streams[1:])


async def test_a_connected_client_answering_pings_is_never_dropped(tmp_path: Path) -> None:
    # Given the machine's server pinging kernel sockets every second
    server = start_machine_server(tmp_path / "machine", ping_interval=1)
    try:
        kernel = await server.fetch("POST", "api/kernels", {"name": "python3"})
        client = await server.open_channel(kernel["id"], secrets.token_hex(8))
        await client.execute("1")
        # When the client stays connected (its websocket answers each ping) for a few pings
        await asyncio.sleep(4.5)
        # Then its socket still works
        assert (await client.execute("print('still here')")).stdout == "still here\n"
        client.close()
    finally:
        server.delete_all_kernels()
        server.stop()
