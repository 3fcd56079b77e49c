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

from jupyter_cloudlab.kernels.websocket import CloudLabWebsocketConnection
from tests.api_helpers import api_json, launch_ready
from tests.kernel_helpers import KernelChannel, cut_link, open_kernel_channel

WAIT = 120.0
# The machine's gateway keeps the last 32 MB sent to a session for a resume (resume_buffer_bytes).
KEPT_LINES = 3_000_000  # 24 MB: kept, so resent after the cut
TOO_BIG_LINES = 5_000_000  # 40 MB: not kept


@pytest.fixture
def jp_server_config(cloudlab_server_config: dict[str, Any]) -> dict[str, Any]:
    return cloudlab_server_config


def numbered_lines(count: int) -> str:
    """A text where a byte lost, repeated or moved anywhere shows."""
    return "".join(f"{i:07d}\n" for i in range(count))


def show(count: int) -> str:
    return (
        "from IPython.display import display\n"
        f"display({{'text/plain': ''.join(f'{{i:07d}}\\n' for i in range({count}))}}, raw=True)"
    )


async def _until(predicate: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def _machine_kernel(jp_fetch: Any, name: str) -> tuple[dict[str, Any], str, str]:
    """A ready machine, one of its kernels, and a browser session id."""
    machine = await launch_ready(jp_fetch, name=name)
    body = {"name": machine["kernelspecs"][0]}
    kernel = await api_json(jp_fetch, "api", "kernels", method="POST", body=body)
    return machine, kernel["id"], secrets.token_hex(8)


def _open_browser(jp_ws_fetch: Any, kernel_id: str, session: str) -> Awaitable[KernelChannel]:
    """A browser's socket (no message size limit, as in a browser)."""
    return open_kernel_channel(jp_ws_fetch, kernel_id, session_id=session, max_message_size=2**30)


async def _cut_mid_message(cloudlab_data_dir: Path, machine: dict[str, Any]) -> Any:
    """Wait until the relay has passed part of a streamed message on, then cut the link."""
    (relay,) = CloudLabWebsocketConnection._remote_connections
    await _until(
        lambda: (
            relay._output is not None
            and relay._output._streaming is not None
            and relay._output._streaming.sent > 0
        ),
        "the relay streaming the output",
    )
    machine_dir = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"]
    await asyncio.to_thread(cut_link, machine_dir, 1.0)
    return relay


async def test_output_cut_mid_way_arrives_whole_and_once(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    # Given a browser on a machine's kernel, reading nothing while a 24 MB output is sent
    machine, kernel, session = await _machine_kernel(jp_fetch, "large")
    browser = await _open_browser(jp_ws_fetch, kernel, session)
    msg_id = await browser.send_execute(show(KEPT_LINES))

    # When the link is cut while the browser holds part of the output
    relay = await _cut_mid_message(cloudlab_data_dir, machine)

    # Then, on the same socket, the output arrives whole, exactly once, then the reply
    result = await browser.collect(msg_id, timeout=WAIT)
    outputs = [
        m.content["data"]["text/plain"] for m in result.messages if m.msg_type == "display_data"
    ]
    assert len(outputs) == 1
    assert outputs[0] == numbered_lines(KEPT_LINES)
    assert result.reply["status"] == "ok"
    assert relay.reconnects >= 1
    assert (await browser.execute("print('after')")).stdout == "after\n"
    browser.close()
    await api_json(jp_fetch, "cloudlab", "api", "machines", machine["id"], method="DELETE")


async def test_output_too_big_to_resend_closes_the_socket_with_the_reason(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    # Given a browser reading nothing while a 40 MB output (more than the machine keeps) is sent
    machine, kernel, session = await _machine_kernel(jp_fetch, "too-big")
    browser = await _open_browser(jp_ws_fetch, kernel, session)
    await browser.send_execute(show(TOO_BIG_LINES))

    # When the link is cut while the browser holds part of it
    await _cut_mid_message(cloudlab_data_dir, machine)

    # Then the socket is closed (the message can't be finished) and says why, rather than the
    # browser getting a corrupt message or waiting forever
    await browser.wait_closed(timeout=WAIT)
    assert browser.ws.close_code == 1011
    assert "large output was cut off" in (browser.ws.close_reason or "")
    # And the kernel lives on: a browser reconnecting with the same session uses it
    again = await _open_browser(jp_ws_fetch, kernel, session)
    assert (await again.execute("print('after')")).stdout == "after\n"
    again.close()
    await api_json(jp_fetch, "cloudlab", "api", "machines", machine["id"], method="DELETE")
