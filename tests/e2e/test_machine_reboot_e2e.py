"""Reboot through the API: the machine really goes down and comes back, and is usable again.

Sandbox with OpenSSH's sshd: moto accepts RebootInstances, the hypervisor power-cycles the
machine (its sshd and every process it started end), and the local server reconnects.
"""

from __future__ import annotations

from typing import Any

from tests.helpers.host_processes import sshd_of_machine
from tests.helpers.kernel_channel import open_kernel_channel
from tests.helpers.rest_api import API, api_json, api_reply, error_message, launch_ready, wait_state
from tests.helpers.sandbox_ec2 import moto_state as _moto_state


async def _execute(jp_ws_fetch: Any, kernel_id: str, code: str) -> Any:
    channel = await open_kernel_channel(jp_ws_fetch, kernel_id)
    try:
        return await channel.execute(code, timeout=60)
    finally:
        channel.close()


async def test_reboot_power_cycles_the_machine_and_reconnects(
    cloudlab_backend: Any, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    # Given a ready machine with a kernel holding a variable
    machine = await launch_ready(jp_fetch, name="reboot-box")
    remote_name = machine["kernelspecs"][0]
    kernel = await api_json(jp_fetch, "api", "kernels", method="POST", body={"name": remote_name})
    assert (await _execute(jp_ws_fetch, kernel["id"], "x = 42")).reply["status"] == "ok"
    sshd_before, _ = sshd_of_machine(f"/machines/{machine['instance_id']}/")

    # When it is rebooted
    rebooting = await api_json(jp_fetch, *API, "machines", machine["id"], "reboot", method="POST")

    # Then the API says so at once, and the machine comes back ready on its own
    assert rebooting["state"] == "rebooting"
    back = await wait_state(jp_fetch, machine["id"], "ready")
    assert back["kernelspecs"] == [remote_name]
    assert _moto_state(cloudlab_backend, machine["instance_id"]) == "running"
    # And the machine really went down: its SSH server is a new process
    sshd_after, _ = sshd_of_machine(f"/machines/{machine['instance_id']}/")
    assert sshd_after != sshd_before
    # And the old kernel is gone (a reboot ends it); a new one runs, with fresh state
    kernels = await api_json(jp_fetch, "api", "kernels")
    assert kernel["id"] not in [k["id"] for k in kernels]
    fresh = await api_json(jp_fetch, "api", "kernels", method="POST", body={"name": remote_name})
    result = await _execute(jp_ws_fetch, fresh["id"], "print(globals().get('x', 'unset'))")
    assert result.reply["status"] == "ok" and result.stdout.strip() == "unset"


async def test_only_a_ready_machine_can_be_rebooted(cloudlab_backend: Any, jp_fetch: Any) -> None:
    # Given a stopped machine
    machine = await launch_ready(jp_fetch, name="stopped-box")
    await api_json(jp_fetch, *API, "machines", machine["id"], "stop", method="POST")
    await wait_state(jp_fetch, machine["id"], "stopped")

    # When a reboot is asked for, Then it is refused with a sentence, and nothing changes
    status, text = await api_reply(
        jp_fetch, *API, "machines", machine["id"], "reboot", method="POST"
    )
    assert status == 409
    assert "Only a ready machine can be rebooted" in error_message(status, text)
    assert (await api_json(jp_fetch, *API, "machines", machine["id"]))["state"] == "stopped"
