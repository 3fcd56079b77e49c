"""A launch's idle limit and budget, on the machine's real server (configured as the bootstrap
configures a machine's): the row shows them from the launch on, the machine's guard gets them at
the first ready, also after this server restarted in between, and a later start never overwrites
an idle limit changed on the machine itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.kernels.machine_servers import MachineServer, MachineServerRegistry
from jupyter_cloudlab.machines.book import MachineBook
from jupyter_cloudlab.machines.guard import GuardDefaults, MachineGuard
from jupyter_cloudlab.machines.launch_idle_limits import LaunchIdleLimits
from jupyter_cloudlab.machines.store import MachineStore
from jupyter_cloudlab.models import LaunchRequest, Machine, MachineState
from tests.helpers.machine_server import MachineServerProcess, start_machine_server

DEFAULTS = GuardDefaults(idle_minutes=30, budget_usd=0)


@pytest.fixture
def machine_server(tmp_path: Path) -> Iterator[MachineServerProcess]:
    gpu_output = tmp_path / "nvidia-smi.out"
    gpu_output.write_text("")
    guard = {
        "idle_minutes": DEFAULTS.idle_minutes,  # what the bootstrap gives every machine
        "tick_seconds": 0.2,
        "power_off_commands": [["true"]],
        "gpu_command": ["cat", str(gpu_output)],
        "gpu_every_seconds": 0,
        "imds_url": "file:~/.sandbox-imds",
    }
    server = start_machine_server(tmp_path / "machine", guard=guard)
    yield server
    server.stop()


class LocalServer:
    """This server's side as a restart finds it: the machines' records and the launches' idle
    limits in the data folder, the machine's server registered (it is ready)."""

    def __init__(self, data: Path, machine_server: MachineServerProcess) -> None:
        self.book = MachineBook(MachineStore(data / "machines.json"), emit=lambda machine: None)
        for machine in self.book.cached():
            self.book.add(machine, announce=False)
        self.limits = LaunchIdleLimits(data / "launch_idle_limits.json")
        registry = MachineServerRegistry()
        registry.add(
            MachineServer(
                machine_id="m-1",
                machine_name="box",
                base_url=machine_server.url,
                token=machine_server.token,
                label="t3.medium",
            )
        )
        self.guard = MachineGuard(self.book, registry, DEFAULTS, self.limits)

    def launch(self, request: LaunchRequest) -> Machine:
        """What the orchestrator records at a launch (the instance is made later)."""
        now = datetime.now(timezone.utc)
        machine = Machine(
            id="m-1",
            name="box",
            instance_type=request.instance_type,
            image_id=request.image_id,
            region="us-east-1",
            state=MachineState.requesting,
            state_since=now,
            launched_at=now,
            price_per_hour=0.0416,
            **self.guard.launch_fields(request),
        )
        self.guard.launched(machine.id, request)
        self.book.add(machine)
        return machine

    async def ready(self) -> None:
        self.book.set_state("m-1", MachineState.ready)
        self.guard.watch("m-1")


async def until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


def request(**fields: Any) -> LaunchRequest:
    return LaunchRequest(instance_type="t3.medium", image_id="ami-0123456789abcdef0", **fields)


async def test_the_launch_limits_reach_the_machine_once_even_across_restarts(
    tmp_path: Path, machine_server: MachineServerProcess
) -> None:
    data = tmp_path / "data"
    # Given a launch with an idle limit of 7 minutes and a $2.50 budget
    first = LocalServer(data, machine_server)
    launched = first.launch(request(idle_minutes=7, budget_usd=2.5))
    # Then its row shows them from the start, before the machine has them
    assert (launched.idle_minutes, launched.budget_usd, launched.stop_at) == (7, 2.5, None)
    assert (await machine_server.fetch("GET", "cloudlab/guard"))["idle_minutes"] == 30

    # When this server restarts before the machine is first ready, and then it is
    second = LocalServer(data, machine_server)
    assert second.book.get("m-1").idle_minutes == 7
    await second.ready()

    # Then the machine's guard has the launch's idle limit, and the budget as a deadline
    async def taken() -> bool:
        status = await machine_server.fetch("GET", "cloudlab/guard")
        return bool(status["idle_minutes"] == 7 and status["stop_at"])

    await until(taken)
    row = second.book.get("m-1")
    assert row.idle_minutes == 7 and row.budget_usd == 2.5
    assert row.stop_at is not None and row.stop_at > datetime.now(timezone.utc)
    assert second.limits.pending("m-1") is None  # sent: never again
    second.guard.forget("m-1")

    # When the limit is changed on the machine itself (`jupyter cloudlab idle` over SSH, this
    # server off), and the machine starts again under a restarted server
    await machine_server.fetch("PUT", "cloudlab/guard", {"idle_minutes": 45})
    third = LocalServer(data, machine_server)
    assert third.book.get("m-1").idle_minutes == 7  # the stale local record
    await third.ready()

    # Then the machine keeps its own limit, and the row follows it
    async def follows() -> bool:
        return third.book.get("m-1").idle_minutes == 45

    await until(follows)
    assert (await machine_server.fetch("GET", "cloudlab/guard"))["idle_minutes"] == 45
    third.guard.forget("m-1")


async def test_a_launch_with_the_default_idle_limit_needs_no_call(tmp_path: Path) -> None:
    # Given launches naming the server's default idle limit, or none, and no budget
    book = MachineBook(MachineStore(tmp_path / "machines.json"), emit=lambda machine: None)
    limits = LaunchIdleLimits(tmp_path / "launch_idle_limits.json")
    guard = MachineGuard(book, MachineServerRegistry(), DEFAULTS, limits)
    for launch in (request(idle_minutes=30), request()):
        guard.launched("m-1", launch)
        # Then nothing waits for the first ready: every machine server starts with it
        assert limits.pending("m-1") is None
        assert guard.launch_fields(launch) == {"idle_minutes": 30, "budget_usd": None}
    # And "no budget" chosen at launch stays none, where a default budget would apply
    with_default = MachineGuard(book, MachineServerRegistry(), GuardDefaults(30, 5.0), limits)
    assert with_default.launch_fields(request(budget_usd=0))["budget_usd"] == 0
    assert with_default.launch_fields(request())["budget_usd"] == 5.0
