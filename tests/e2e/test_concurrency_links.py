"""Many things at once, on a machine's link and the server's account (issue 15): a reboot while
the tunnel heals, and an account switch during a launch. Each waits until the machine is
settled, then checks its row is one the panel can explain and that nothing is orphaned (the
sweep's own listing and EC2's own view agree with the rows: tests/helpers/settled.py).

Sandbox machines served by OpenSSH's sshd, like the other end-to-end tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any

from tests.helpers.call_gate import CallGate
from tests.helpers.host_processes import sshd_of_machine
from tests.helpers.kernel_channel import run_in_new_kernel, until
from tests.helpers.rest_api import API, api_json, api_reply, launch_ready
from tests.helpers.settled import assert_explainable, assert_no_orphans, gone, settled_machines


async def _terminate(backend: Any, jp_fetch: Any, machine_id: str) -> None:
    await api_json(jp_fetch, *API, "machines", machine_id, method="DELETE")
    await gone(jp_fetch)
    await assert_no_orphans(backend, [])


async def test_a_reboot_while_the_tunnel_heals_comes_back_ready(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    # Given a ready machine whose link is cut: its sshd answers nothing new, ours died, and the
    # tunnel is healing
    machine = await launch_ready(jp_fetch, name="heal-reboot")
    orchestrator = cloudlab_backend.current.orchestrator
    machine_dir = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"]
    master, sessions = sshd_of_machine(machine_dir)
    os.kill(master, signal.SIGSTOP)
    try:
        for pid in sessions:
            os.kill(pid, signal.SIGKILL)
        await until(lambda: orchestrator.tunnel_state(machine["id"]) == "down", "tunnel down")

        # When it is rebooted then (the power cycle ends the frozen sshd too)
        status, text = await api_reply(
            jp_fetch, *API, "machines", machine["id"], "reboot", method="POST"
        )
        assert status == 202, text
        assert json.loads(text)["state"] == "rebooting"

        # Then it comes back ready, with a new sshd, its tunnel up
        [row] = await settled_machines(jp_fetch)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(master, signal.SIGCONT)
    assert row["state"] == "ready", row
    assert sshd_of_machine(machine_dir)[0] != master
    connection = await api_json(jp_fetch, *API, "machines", machine["id"], "connection")
    assert connection["tunnel"] == "up"
    # And it runs code again, on the machine
    assert (
        await run_in_new_kernel(jp_fetch, jp_ws_fetch, row["kernelspecs"][0], "print(6 * 7)")
        == "42"
    )
    assert_explainable([row])
    await assert_no_orphans(cloudlab_backend, [row])
    await _terminate(cloudlab_backend, jp_fetch, machine["id"])


async def test_an_account_switch_during_a_launch_keeps_the_sandbox_machine(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a launch whose run_instances is on its way to EC2
    images = (await api_json(jp_fetch, *API, "catalog", "images"))["images"]
    session = cloudlab_backend.current
    gate = CallGate(session.ec2, "RunInstances")
    try:
        body = {"name": "switch", "instance_type": "t3.medium", "image_id": images[0]["id"]}
        launched = await api_json(jp_fetch, *API, "machines", method="POST", body=body)
        await gate.until(gate.entered)

        # When the settings pick another region meanwhile (no AWS credentials here: the sandbox
        # carries on, and says which region it simulates)
        choice = {"profile": None, "region": "eu-west-1"}
        status = await api_json(jp_fetch, *API, "account", method="PUT", body=choice)
        gate.open()
    finally:
        gate.remove()
    assert status["mode"] == "sandbox"
    assert "simulates us-east-1 only" in status["message"]

    # Then the launch goes on in the same session, and its machine is ready, nothing orphaned
    [row] = await settled_machines(jp_fetch)
    assert (row["id"], row["state"]) == (launched["id"], "ready"), row
    assert cloudlab_backend.current.orchestrator is session.orchestrator
    assert_explainable([row])
    await assert_no_orphans(cloudlab_backend, [row])
    await _terminate(cloudlab_backend, jp_fetch, row["id"])
