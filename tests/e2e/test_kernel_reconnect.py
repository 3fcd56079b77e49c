"""Cutting a machine's link for real while a machine kernel prints: nothing is lost.

The machine is a sandbox machine served by OpenSSH's sshd (root). The cut: its listening sshd is
frozen (SIGSTOP: new SSH connections get no answer) and the sshd processes serving our tunnel are
killed, as if the link died; after the cut sshd is thawed and the tunnel heals by itself. The
browser's socket to the local server stays open throughout.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

from jupyter_cloudlab.events import CONNECTION_EVENT_SCHEMA_ID
from jupyter_cloudlab.kernels.relay.connection import CloudLabWebsocketConnection
from tests.helpers.host_processes import sshd_of_machine
from tests.helpers.kernel_channel import open_kernel_channel, until
from tests.helpers.rest_api import api_json, launch_ready

COUNT = 40
COUNTER = f"import time\nfor i in range({COUNT}):\n    print(i, flush=True)\n    time.sleep(0.25)"
CUT_SECONDS = 4.0
WAIT = 120.0


async def test_output_printed_during_a_cut_arrives_in_order(
    cloudlab_backend: Any,
    cloudlab_data_dir: Path,
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
) -> None:
    events: list[dict[str, Any]] = []

    async def on_event(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        events.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=CONNECTION_EVENT_SCHEMA_ID, listener=on_event)
    # Given a ready sandbox machine and a browser on one of its kernels, printing a counter
    machine = await launch_ready(jp_fetch, name="cut")
    kernel = await api_json(
        jp_fetch, "api", "kernels", method="POST", body={"name": machine["kernelspecs"][0]}
    )
    browser = await open_kernel_channel(jp_ws_fetch, kernel["id"])
    msg_id = await browser.send_execute(COUNTER)
    before = ""
    while before.count("\n") < 3:  # a few lines printed before the cut
        msg = await browser.recv()
        assert msg is not None
        if msg.parent_msg_id == msg_id and msg.msg_type == "stream":
            before += msg.content["text"]
    orchestrator = cloudlab_backend.current.orchestrator
    relays = list(CloudLabWebsocketConnection._remote_connections)
    assert len(relays) == 1

    # When the link is cut: sshd answers no new connection and ours dies
    machine_dir = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"]
    master, sessions = sshd_of_machine(machine_dir)
    assert sessions, "no sshd process serves our tunnel"
    os.kill(master, signal.SIGSTOP)
    try:
        for pid in sessions:
            os.kill(pid, signal.SIGKILL)
        await until(lambda: orchestrator.tunnel_state(machine["id"]) == "down", "tunnel down")
        status = await api_json(
            jp_fetch, "cloudlab", "api", "machines", machine["id"], "connection"
        )
        assert (status["tunnel"], status["kernels"]) == ("down", [kernel["id"]])
        await asyncio.sleep(CUT_SECONDS)  # the kernel keeps printing meanwhile
    finally:
        os.kill(master, signal.SIGCONT)

    # Then the tunnel heals, the same browser socket gets every line, in order, exactly once
    result = await browser.collect(msg_id, timeout=WAIT)
    assert result.reply["status"] == "ok"
    assert (before + result.stdout).split() == [str(i) for i in range(COUNT)]
    assert relays[0].reconnects >= 1
    status = await api_json(jp_fetch, "cloudlab", "api", "machines", machine["id"], "connection")
    assert (status["tunnel"], status["kernels"]) == ("up", [kernel["id"]])
    mine = [(e["tunnel"], e["kernels"]) for e in events if e["machine_id"] == machine["id"]]
    assert mine[-2:] == [("down", [kernel["id"]]), ("up", [kernel["id"]])]
    assert await browser.execute("print('after')") is not None
    browser.close()
