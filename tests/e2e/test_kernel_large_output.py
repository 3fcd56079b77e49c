"""Large outputs through the relay: passed on while they arrive, and not lost to a cut mid-way.

The machine is a sandbox machine served by OpenSSH's sshd (root). The browser is slow on purpose
(it reads nothing while the output is on its way), so the relay is still in the middle of the
message when the link is cut: the browser already holds the start of it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.kernels.relay.connection import CloudLabWebsocketConnection
from tests.helpers.kernel_channel import KernelChannel, KernelMessage, open_kernel_channel, until
from tests.helpers.rest_api import api_json, launch_ready
from tests.helpers.sshd_cut import cut_link

WAIT = 120.0
# The machine's server keeps the last 32 MB sent to a session for a resume (resume_buffer_bytes),
# plus the frame before them: one output larger than that is still resent until more follows.
WITHIN_LOG_LINES = 3_000_000  # 24 MB
OVER_LOG_LINES = 5_000_000  # 40 MB
PUSHING_LINES = 4_250_000  # 34 MB: after the 40 MB, more than the log's bound


def numbered_lines(count: int) -> str:
    """A text where a byte lost, repeated or moved anywhere shows."""
    return "".join(f"{i:07d}\n" for i in range(count))


def show(count: int) -> str:
    return (
        "from IPython.display import display\n"
        f"display({{'text/plain': ''.join(f'{{i:07d}}\\n' for i in range({count}))}}, raw=True)"
    )


async def _machine_kernel(jp_fetch: Any, name: str) -> tuple[dict[str, Any], str, str]:
    """A ready machine, one of its kernels, and a browser session id."""
    machine = await launch_ready(jp_fetch, name=name)
    body = {"name": machine["kernelspecs"][0]}
    kernel = await api_json(jp_fetch, "api", "kernels", method="POST", body=body)
    return machine, kernel["id"], secrets.token_hex(8)


def _open_browser(jp_ws_fetch: Any, kernel_id: str, session: str) -> Awaitable[KernelChannel]:
    """A browser's socket (no message size limit, as in a browser)."""
    return open_kernel_channel(jp_ws_fetch, kernel_id, session_id=session, max_message_size=2**30)


async def _until_streaming() -> CloudLabWebsocketConnection:
    """The relay, once it has passed part of a streamed message on."""
    (relay,) = CloudLabWebsocketConnection._remote_connections
    await until(
        lambda: (
            relay._output is not None
            and relay._output._streaming is not None
            and relay._output._streaming.sent > 0
        ),
        "the relay streaming the output",
    )
    return relay


async def _until_idle(jp_fetch: Any, kernel_id: str) -> None:
    """Until the machine's kernel has finished its cell (its server has sent all of it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while (await api_json(jp_fetch, "api", "kernels", kernel_id))["execution_state"] != "idle":
        assert loop.time() < deadline, "the cell never finished"
        await asyncio.sleep(0.2)


async def _drain(browser: KernelChannel) -> list[KernelMessage]:
    """Every message until the server closes the socket."""
    messages = []
    while (message := await browser.recv(WAIT)) is not None:
        messages.append(message)
    return messages


async def _cut(cloudlab_data_dir: Path, machine: dict[str, Any]) -> None:
    machine_dir = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"]
    await asyncio.to_thread(cut_link, machine_dir, 1.0)


@pytest.mark.parametrize("lines", [WITHIN_LOG_LINES, OVER_LOG_LINES], ids=["24MB", "40MB"])
async def test_output_cut_mid_way_arrives_whole_and_once(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any, jp_ws_fetch: Any, lines: int
) -> None:
    # Given a browser on a machine's kernel, reading nothing while a large output is sent
    machine, kernel, session = await _machine_kernel(jp_fetch, "large")
    browser = await _open_browser(jp_ws_fetch, kernel, session)
    msg_id = await browser.send_execute(show(lines))

    # When the link is cut while the browser holds part of the output
    relay = await _until_streaming()
    await _cut(cloudlab_data_dir, machine)

    # Then, on the same socket, the output arrives whole, exactly once, then the reply
    result = await browser.collect(msg_id, timeout=WAIT)
    outputs = [
        m.content["data"]["text/plain"] for m in result.messages if m.msg_type == "display_data"
    ]
    assert len(outputs) == 1
    assert outputs[0] == numbered_lines(lines)
    assert result.reply["status"] == "ok"
    assert relay.reconnects >= 1
    assert (await browser.execute("print('after')")).stdout == "after\n"
    browser.close()
    await api_json(jp_fetch, "cloudlab", "api", "machines", machine["id"], method="DELETE")


async def test_output_lost_to_a_cut_closes_the_socket_and_the_cell_still_finishes(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    # Given a browser reading nothing while a cell sends 40 MB, then 34 MB more, which push the
    # 40 MB out of what the machine keeps to resend, then prints
    machine, kernel, session = await _machine_kernel(jp_fetch, "lost")
    browser = await _open_browser(jp_ws_fetch, kernel, session)
    # (The pause: the machine's server learns "idle" on a socket of its own, and may do so before
    # its kernel socket has passed the 34 MB on; the 40 MB must be out of its log before the cut.)
    pause = "import time\ntime.sleep(3)"
    cell = f"{show(OVER_LOG_LINES)}\n{show(PUSHING_LINES)}\n{pause}\nprint('after big')"
    msg_id = await browser.send_execute(cell)
    await _until_streaming()
    await _until_idle(jp_fetch, kernel)  # the machine has sent the whole cell (into the link)

    # When the link is cut while the browser holds part of the 40 MB
    await _cut(cloudlab_data_dir, machine)

    # Then the socket is closed with the reason (the message can't be finished), rather than the
    # browser getting a corrupt message or waiting forever
    received = [m for m in await _drain(browser) if m.parent_msg_id == msg_id]
    assert browser.ws.close_code == 1011
    assert "large output was cut off" in (browser.ws.close_reason or "")
    # And the browser's reconnect (same session) gets the rest of the cell: it finishes, each
    # message once, the 34 MB whole (only the 40 MB is lost)
    again = await _open_browser(jp_ws_fetch, kernel, session)

    def finished() -> bool:  # the reply (shell) and idle (iopub) come in either order
        idle = any(
            m.msg_type == "status" and m.content["execution_state"] == "idle" for m in received
        )
        return idle and any(m.msg_type == "execute_reply" for m in received)

    while not finished():
        message = await again.recv(WAIT)
        assert message is not None
        if message.parent_msg_id == msg_id:
            received.append(message)
    kinds = sorted(m.msg_type for m in received)
    assert kinds == ["display_data", "execute_input", "execute_reply", "status", "status", "stream"]
    by_kind = {m.msg_type: m.content for m in received}
    assert by_kind["display_data"]["data"]["text/plain"] == numbered_lines(PUSHING_LINES)
    assert by_kind["stream"]["text"] == "after big\n"
    assert by_kind["execute_reply"]["status"] == "ok"
    assert (await again.execute("print('after')")).stdout == "after\n"
    again.close()
    await api_json(jp_fetch, "cloudlab", "api", "machines", machine["id"], method="DELETE")
