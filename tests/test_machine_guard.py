"""The machine's guard, on the machine's real server (a local jupyter_server configured as the
bootstrap configures a machine's): it powers off when idle and only then, records why, honours
the budget deadline, keep-alive and stop-after-cell, takes settings live, and writes a spot
notice into a running cell. Its power-off command here writes a file (never `shutdown`)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jupyter_cloudlab.sandbox.power_button import simulate_spot_notice
from tests.helpers.machine_server import MachineServerProcess, start_machine_server

TICK = 0.2


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[MachineServerProcess]:
    powered_off = tmp_path / "powered-off"
    gpu_output = tmp_path / "nvidia-smi.out"
    gpu_output.write_text("")
    guard = {
        "idle_minutes": 0,  # each test sets its own
        "tick_seconds": TICK,
        "power_off_commands": [["sh", "-c", f"echo off >> {powered_off}"]],
        "gpu_command": ["cat", str(gpu_output)],
        "gpu_every_seconds": 0,
        "imds_url": "file:~/.sandbox-imds",
    }
    server = start_machine_server(tmp_path / "machine", guard=guard)
    yield server
    server.delete_all_kernels()
    server.stop()


def powered_off(machine: MachineServerProcess) -> dict | None:
    """Why the machine powered off (its shutdown.json), once its power-off command ran."""
    if not (machine.home.parent.parent / "powered-off").exists():
        return None
    return dict(json.loads((machine.home / ".cloudlab" / "shutdown.json").read_text()))


async def wait_powered_off(machine: MachineServerProcess, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (record := powered_off(machine)) is None:
        assert time.monotonic() < deadline, "the machine never powered off"
        await asyncio.sleep(TICK)
    return record


def iso(seconds_from_now: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)).isoformat()


async def test_an_idle_machine_warns_then_powers_off_and_says_why(
    machine: MachineServerProcess,
) -> None:
    # Given a machine with no kernel and a limit of 3 s
    status = await machine.fetch("PUT", "cloudlab/guard", {"idle_minutes": 0.05})
    # Then it warns (the stop is less than 5 minutes away) and says when
    assert status["warning"] and "stops at" in status["warning"]
    assert status["stops_at"] is not None and status["busy"] == []
    # And it powers off by itself, with the reason recorded
    record = await wait_powered_off(machine)
    assert record["reason"] == "idle"
    assert "Idle for" in record["detail"]


async def test_a_busy_cell_is_never_idle_and_hears_the_spot_notice(
    machine: MachineServerProcess,
) -> None:
    kernel = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    channel = await machine.open_channel(kernel["id"], secrets.token_hex(8))
    await channel.execute("x = 41")
    # Given a tiny limit (0.6 s) and a cell that runs for 14 s
    msg_id = await channel.send_execute("import time; time.sleep(14); print('done')")
    await asyncio.sleep(0.5)
    await machine.fetch("PUT", "cloudlab/guard", {"idle_minutes": 0.01})
    # When EC2 announces a spot interruption meanwhile (the guard reads IMDS every 5 s)
    notice = simulate_spot_notice(str(machine.home))
    deadline = time.monotonic() + 10
    status = await machine.fetch("GET", "cloudlab/guard")
    while status["spot"] != notice and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        status = await machine.fetch("GET", "cloudlab/guard")
    # Then the busy machine did not power off, and heard the notice
    assert powered_off(machine) is None
    assert status["busy"] == ["a cell runs"] and status["idle_since"] is None
    assert status["spot"] == notice
    # And the running cell's output says so, with the time EC2 gave
    result = await channel.collect(msg_id, timeout=30)
    stderr = "".join(
        m.content.get("text", "")
        for m in result.messages
        if m.msg_type == "stream" and m.content.get("name") == "stderr"
    )
    assert f"EC2 will stop this spot machine at {notice['time']}" in stderr
    assert "done" in result.stdout
    # And once the cell ended it is idle and powers off
    assert (await wait_powered_off(machine))["reason"] == "idle"
    channel.close()


async def test_settings_apply_live_without_restarting_the_kernel(
    machine: MachineServerProcess,
) -> None:
    kernel = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    channel = await machine.open_channel(kernel["id"], secrets.token_hex(8))
    await channel.execute("kept = 'still here'")
    status = await machine.fetch(
        "PUT", "cloudlab/guard", {"idle_minutes": 45, "keep_until": iso(3600)}
    )
    assert status["idle_minutes"] == 45 and status["keep_until"] is not None
    # The same kernel, its variables intact
    assert [k["id"] for k in await machine.fetch("GET", "api/kernels")] == [kernel["id"]]
    assert (await channel.execute("print(kept)")).stdout.strip() == "still here"
    # And the settings survive a restart of the guard's server (kept on the machine's disk)
    saved = json.loads((machine.home / ".cloudlab" / "guard.json").read_text())
    assert saved["idle_minutes"] == 45
    channel.close()


async def test_the_budget_deadline_stops_even_a_busy_machine(
    machine: MachineServerProcess,
) -> None:
    kernel = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    channel = await machine.open_channel(kernel["id"], secrets.token_hex(8))
    await channel.send_execute("import time; time.sleep(30)")
    await asyncio.sleep(0.5)
    # keep-alive set too: it holds off the idle stop, never the budget
    await machine.fetch("PUT", "cloudlab/guard", {"stop_at": iso(1.5), "keep_until": iso(3600)})
    record = await wait_powered_off(machine)
    assert record["reason"] == "budget"
    assert "while busy (a cell runs)" in record["detail"]
    channel.close()


async def test_keep_alive_holds_off_the_idle_stop_until_its_time(
    machine: MachineServerProcess,
) -> None:
    started = time.monotonic()
    await machine.fetch("PUT", "cloudlab/guard", {"idle_minutes": 0.01, "keep_until": iso(4)})
    await asyncio.sleep(2)
    assert powered_off(machine) is None
    assert (await wait_powered_off(machine))["reason"] == "idle"
    assert time.monotonic() - started >= 3.5


async def test_stop_after_cell_waits_for_the_running_cell(machine: MachineServerProcess) -> None:
    kernel = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    channel = await machine.open_channel(kernel["id"], secrets.token_hex(8))
    msg_id = await channel.send_execute("import time; time.sleep(4); print('finished')")
    await asyncio.sleep(0.5)
    await machine.fetch("PUT", "cloudlab/guard", {"stop_after_cell": True})
    await asyncio.sleep(2)
    assert powered_off(machine) is None  # the cell still runs
    assert "finished" in (await channel.collect(msg_id, timeout=30)).stdout
    assert (await wait_powered_off(machine))["reason"] == "after_cell"
    channel.close()


async def test_a_busy_gpu_keeps_the_machine_on(machine: MachineServerProcess) -> None:
    gpu_output = machine.home.parent.parent / "nvidia-smi.out"
    recorded = Path(__file__).parent / "data" / "nvidia_smi"
    gpu_output.write_text((recorded / "utilization_busy.csv").read_text())
    await machine.fetch("PUT", "cloudlab/guard", {"idle_minutes": 0.01})
    await asyncio.sleep(2)
    status = await machine.fetch("GET", "cloudlab/guard")
    assert powered_off(machine) is None
    assert status["busy"] and status["busy"][0].startswith("GPU ")
    # When the training ends (utilisation under a few percent), it stops
    gpu_output.write_text((recorded / "utilization_idle.csv").read_text())
    assert (await wait_powered_off(machine))["reason"] == "idle"


async def test_a_transfer_in_progress_keeps_the_machine_on(machine: MachineServerProcess) -> None:
    marker = machine.home / ".cloudlab" / "transfer-active"
    marker.parent.mkdir(exist_ok=True)
    marker.touch()
    await machine.fetch("PUT", "cloudlab/guard", {"idle_minutes": 0.01})
    await asyncio.sleep(2)
    assert powered_off(machine) is None
    assert (
        "the workspace mirror is transferring"
        in (await machine.fetch("GET", "cloudlab/guard"))["busy"]
    )
    marker.unlink()
    assert (await wait_powered_off(machine))["reason"] == "idle"


async def test_an_open_tab_alone_is_not_activity(machine: MachineServerProcess) -> None:
    # A notebook's tab connects (kernel_info) and stays open; nobody runs anything
    kernel = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    channel = await machine.open_channel(kernel["id"], secrets.token_hex(8))
    await channel.wait_answering()
    await machine.fetch("PUT", "cloudlab/guard", {"idle_minutes": 0.02})
    assert (await wait_powered_off(machine))["reason"] == "idle"
    channel.close()


async def test_bad_settings_get_a_sentence(machine: MachineServerProcess) -> None:
    from tornado.httpclient import HTTPClientError

    for body in ({"idle_minutes": -1}, {"stop_at": "tomorrow"}, {"colour": "red"}):
        with pytest.raises(HTTPClientError) as raised:
            await machine.fetch("PUT", "cloudlab/guard", body)
        assert raised.value.code == 400
