"""A kernelspec listing never waits on a machine it already knows: the cached specs are served
and refreshed in the background (issue 16, server hygiene)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from jupyter_cloudlab.kernels import specs as specs_module
from jupyter_cloudlab.kernels.machine_servers import MachineServer
from jupyter_cloudlab.kernels.specs import CloudLabKernelSpecManager

MACHINE = MachineServer("m-0000beef", "slowpoke", "http://127.0.0.1:9", "t", "t3.small")
SLOW_SECONDS = 0.6


def _listing(display_name: str) -> dict[str, Any]:
    spec = {"display_name": display_name, "language": "python", "argv": []}
    return {"default": "python3", "kernelspecs": {"python3": {"spec": spec, "resources": {}}}}


async def test_a_known_slow_machine_is_served_from_the_cache_while_it_refreshes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a machine whose listing takes SLOW_SECONDS and changes between two listings
    calls: list[float] = []
    names = iter(["Python 3", "Python 3 (new)"])

    async def slow_list_specs(self: Any, timeout: float = 10.0) -> dict[str, Any]:
        calls.append(time.monotonic())
        await asyncio.sleep(SLOW_SECONDS)
        return _listing(next(names))

    monkeypatch.setattr(specs_module.MachineServerClient, "list_specs", slow_list_specs)
    manager = CloudLabKernelSpecManager()
    manager.machine_servers.add(MACHINE)

    # When it is listed the first time: nothing to serve yet, so the listing waits (bounded)
    first = await manager.get_all_specs()
    assert first["cloudlab.m-0000beef.python3"]["spec"]["display_name"].startswith("Python 3 ·")

    # And listed again
    started = time.monotonic()
    second = await manager.get_all_specs()
    third = await manager.get_all_specs()

    # Then both answers come at once from the cache, without waiting for the slow machine
    assert time.monotonic() - started < SLOW_SECONDS / 2
    assert second["cloudlab.m-0000beef.python3"] == first["cloudlab.m-0000beef.python3"]
    assert third == second
    # And one refresh runs in the background for both (never two at once for a machine)
    await asyncio.sleep(SLOW_SECONDS * 1.5)
    assert len(calls) == 2
    # And the next listing serves what that refresh found
    fourth = await manager.get_all_specs()
    name = fourth["cloudlab.m-0000beef.python3"]["spec"]["display_name"]
    assert name.startswith("Python 3 (new) ·")
    await asyncio.sleep(SLOW_SECONDS * 1.5)  # let the last background refresh end
