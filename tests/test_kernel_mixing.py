"""Local kernels and a machine's kernels in one jupyter server, as a user meets them.

"The machine" is a real jupyter_server subprocess with its own HOME; the local server is
pytest-jupyter's, configured with our kernel manager, kernelspec manager and websocket class.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_cloudlab.kernels.config import attach_machine_servers
from jupyter_cloudlab.kernels.machine_servers import MachineServer, MachineServerRegistry
from jupyter_cloudlab.kernels.relay import browser_output
from tests.helpers.kernel_channel import V1_PROTOCOL, open_kernel_channel
from tests.helpers.machine_server import MachineServerProcess

MACHINE_ID = "m-test"
REMOTE_PYTHON = f"cloudlab.{MACHINE_ID}.python3"
WHERE_AM_I = "import os; print(os.path.expanduser('~'))"


@pytest.fixture
def jp_server_config(kernel_mixing_server_config: Config) -> Config:
    return kernel_mixing_server_config


@pytest.fixture
def registry(
    jp_serverapp: Any, remote_server: MachineServerProcess
) -> Iterator[MachineServerRegistry]:
    registry = MachineServerRegistry()
    assert attach_machine_servers(jp_serverapp, registry)
    registry.add(
        MachineServer(MACHINE_ID, "trainer", remote_server.url, remote_server.token, "g5.xlarge")
    )
    yield registry
    remote_server.delete_all_kernels()


async def fetch_json(jp_fetch: Any, *parts: str, method: str = "GET", body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    elif method == "POST":
        kwargs["body"] = b""
    if method == "DELETE":
        kwargs.pop("body", None)
    response = await jp_fetch(*parts, **kwargs)
    return json.loads(response.body) if response.body else None


async def start_kernel(jp_fetch: Any, name: str) -> str:
    model = await fetch_json(jp_fetch, "api", "kernels", method="POST", body={"name": name})
    assert model["name"] == name
    return str(model["id"])


async def remote_kernel_ids(remote_server: MachineServerProcess) -> set[str]:
    return {k["id"] for k in await remote_server.fetch("GET", "api/kernels")}


async def local_kernel_ids(jp_fetch: Any) -> set[str]:
    return {k["id"] for k in await fetch_json(jp_fetch, "api", "kernels")}


async def test_kernelspecs_list_local_and_machine_specs(
    jp_fetch: Any, registry: MachineServerRegistry
) -> None:
    # When the launcher lists kernelspecs
    listing = await fetch_json(jp_fetch, "api", "kernelspecs")

    # Then the local python3 and the machine's python3, labelled with the machine, are both there
    specs = listing["kernelspecs"]
    assert "python3" in specs
    remote = specs[REMOTE_PYTHON]
    assert remote["name"] == REMOTE_PYTHON
    assert remote["spec"]["display_name"].endswith(" · trainer · g5.xlarge")
    assert remote["spec"]["metadata"]["cloudlab"]["machine_id"] == MACHINE_ID
    assert listing["default"] == "python3"
    # And the single-spec endpoint and the logo (served through the machine) work too
    single = await fetch_json(jp_fetch, "api", "kernelspecs", REMOTE_PYTHON)
    assert single["spec"]["display_name"] == remote["spec"]["display_name"]
    logo_url = remote["resources"]["logo-64x64"]
    assert logo_url.endswith(f"/kernelspecs/{REMOTE_PYTHON}/logo-64x64.png")
    logo = await jp_fetch("kernelspecs", REMOTE_PYTHON, "logo-64x64.png")
    assert logo.body.startswith(b"\x89PNG")


async def test_jupyter_servers_resource_handler_gets_only_a_machines_png_logos(
    jp_fetch: Any, registry: MachineServerRegistry
) -> None:
    # Given no extension (so jupyter_server's own resource handler, which types files by their
    # extension and sends no sandboxing CSP) and a machine spec with PNG and SVG logos
    await fetch_json(jp_fetch, "api", "kernelspecs")

    # When its files are asked for, Then a PNG logo is served, as an image
    png = await jp_fetch("kernelspecs", REMOTE_PYTHON, "logo-64x64.png")
    assert png.headers["Content-Type"] == "image/png"
    # And nothing that could be a page of this origin: no SVG (script), no other file of the spec
    for path in ("logo-svg.svg", "kernel.json", "../python3/kernel.json"):
        reply = await jp_fetch("kernelspecs", REMOTE_PYTHON, path, raise_error=False)
        assert reply.code == 404, path


@pytest.mark.parametrize("v1", [True, False], ids=["v1-protocol", "legacy-protocol"])
async def test_remote_kernel_runs_on_the_machine(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    registry: MachineServerRegistry,
    remote_server: MachineServerProcess,
    v1: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given no kernelspec listing has happened yet
    # When a kernel is started by its machine-prefixed name
    kernel_id = await start_kernel(jp_fetch, REMOTE_PYTHON)

    # Then it runs on the machine, under the same id, and is listed locally under our name
    assert kernel_id in await remote_kernel_ids(remote_server)
    listed = {k["id"]: k for k in await fetch_json(jp_fetch, "api", "kernels")}
    assert listed[kernel_id]["name"] == REMOTE_PYTHON
    model = await fetch_json(jp_fetch, "api", "kernels", kernel_id)
    assert model["name"] == REMOTE_PYTHON

    # And code sent over the local websocket runs there, in the protocol the client offered
    channel = await open_kernel_channel(jp_ws_fetch, kernel_id, v1=v1)
    assert channel.protocol == (V1_PROTOCOL if v1 else None)
    result = await channel.execute(WHERE_AM_I)
    assert result.reply["status"] == "ok"
    assert result.stdout.strip() == str(remote_server.home)
    channel.close()
    # And the machine's token never reached a log line
    assert remote_server.token not in caplog.text


async def test_a_message_past_the_relays_bound_closes_the_browser_socket_with_a_sentence(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    registry: MachineServerRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a browser on the legacy protocol (whose messages the relay holds until whole) and a
    # relay whose bound for them is lowered to 1 MB (256 MB in use)
    monkeypatch.setattr(browser_output, "MAX_WHOLE_MESSAGE_BYTES", 1024 * 1024)
    kernel_id = await start_kernel(jp_fetch, REMOTE_PYTHON)
    channel = await open_kernel_channel(jp_ws_fetch, kernel_id, v1=False)
    assert (await channel.execute("1")).reply["status"] == "ok"

    # When the machine's kernel prints a 2 MB line
    await channel.send_execute("print('x' * 2_000_000)")

    # Then the browser's socket is closed as "message too big", saying why
    while await channel.recv() is not None:
        pass
    assert channel.ws.close_code == 1009
    assert "the relay's bound" in (channel.ws.close_reason or "")


async def test_interrupt_restart_shutdown_over_rest(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    registry: MachineServerRegistry,
    remote_server: MachineServerProcess,
) -> None:
    kernel_id = await start_kernel(jp_fetch, REMOTE_PYTHON)
    channel = await open_kernel_channel(jp_ws_fetch, kernel_id)

    # Interrupt: a long sleep ends with KeyboardInterrupt
    msg_id = await channel.send_execute(
        "import time; print('sleeping', flush=True); time.sleep(600)"
    )
    await channel.wait_for_stdout(msg_id, "sleeping")
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body=b"")
    result = await channel.collect(msg_id)
    assert result.reply["status"] == "error"
    assert result.reply["ename"] == "KeyboardInterrupt"

    # Restart: the kernel's state is gone. The browser then reconnects its socket, as
    # JupyterLab's KernelConnection.restart() does (the kernel's own sockets were replaced; a
    # socket kept open across a restart may miss IOPub under load), and the kernel answers.
    await channel.execute("marker = 1")
    model = await fetch_json(jp_fetch, "api", "kernels", kernel_id, "restart", method="POST")
    assert model["id"] == kernel_id
    assert model["name"] == REMOTE_PYTHON
    channel.close()
    channel = await open_kernel_channel(jp_ws_fetch, kernel_id)
    await channel.wait_answering()
    result = await channel.execute("print('marker' in globals())")
    assert result.stdout.strip() == "False"

    # Shutdown: gone on the machine and here; the browser's socket is closed, not left dead
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert kernel_id not in await remote_kernel_ids(remote_server)
    assert kernel_id not in await local_kernel_ids(jp_fetch)
    await channel.wait_closed()
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("api", "kernels", kernel_id)
    assert e.value.code == 404


async def test_local_kernel_runs_beside_a_remote_one(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    registry: MachineServerRegistry,
    remote_server: MachineServerProcess,
    jp_home_dir: Path,
) -> None:
    # Given a machine kernel and a local kernel
    remote_id = await start_kernel(jp_fetch, REMOTE_PYTHON)
    local_id = await start_kernel(jp_fetch, "python3")

    # Then both are listed
    assert {remote_id, local_id} <= await local_kernel_ids(jp_fetch)

    # And each runs where it should
    local = await open_kernel_channel(jp_ws_fetch, local_id)
    remote = await open_kernel_channel(jp_ws_fetch, remote_id)
    local_home, remote_home = await asyncio.gather(
        local.execute(WHERE_AM_I), remote.execute(WHERE_AM_I)
    )
    assert remote_home.stdout.strip() == str(remote_server.home)
    assert local_home.stdout.strip() == str(jp_home_dir)
    local.close()
    remote.close()
    await jp_fetch("api", "kernels", local_id, method="DELETE")


async def test_output_printed_while_away_arrives_on_reconnect(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    registry: MachineServerRegistry,
    remote_server: MachineServerProcess,
) -> None:
    # Given a cell that prints after the browser went away
    kernel_id = await start_kernel(jp_fetch, REMOTE_PYTHON)
    session_id = secrets.token_hex(8)
    channel = await open_kernel_channel(jp_ws_fetch, kernel_id, session_id=session_id)
    code = "import time; print('before', flush=True); time.sleep(3); print('after', flush=True)"
    msg_id = await channel.send_execute(code)
    await channel.wait_for_stdout(msg_id, "before")
    channel.close()
    await channel.wait_closed()

    # When the same session comes back after the cell finished on the machine
    await wait_until_idle(remote_server, kernel_id)
    channel = await open_kernel_channel(jp_ws_fetch, kernel_id, session_id=session_id)

    # Then the output printed meanwhile is replayed
    result = await channel.collect(msg_id)
    assert "after" in result.stdout
    channel.close()


async def test_upstream_dropped_by_the_machine_is_reconnected_in_place(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    registry: MachineServerRegistry,
    remote_server: MachineServerProcess,
) -> None:
    # Given a browser connected through us
    kernel_id = await start_kernel(jp_fetch, REMOTE_PYTHON)
    session_id = secrets.token_hex(8)
    browser = await open_kernel_channel(jp_ws_fetch, kernel_id, session_id=session_id)
    await browser.execute("1")

    # When the machine drops our upstream (here: another client takes the session over, and
    # leaves again)
    direct = await remote_server.open_channel(kernel_id, session_id)
    await direct.wait_closed()  # our relay took the session back

    # Then the browser's socket was kept and works
    result = await browser.execute("print('still here')")
    assert result.stdout == "still here\n"
    browser.close()


async def test_browser_socket_closes_when_the_kernel_is_gone_on_the_machine(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    registry: MachineServerRegistry,
    remote_server: MachineServerProcess,
) -> None:
    # Given a browser connected through us
    kernel_id = await start_kernel(jp_fetch, REMOTE_PYTHON)
    browser = await open_kernel_channel(jp_ws_fetch, kernel_id)
    await browser.execute("1")

    # When the kernel is shut down on the machine behind our back, and JupyterLab next polls
    await remote_server.fetch("DELETE", f"api/kernels/{kernel_id}")
    listed = await fetch_json(jp_fetch, "api", "kernels")

    # Then it is no longer listed and the browser's socket is closed, not left open and dead
    assert kernel_id not in [k["id"] for k in listed]
    await browser.wait_closed()


async def test_removing_the_machine_removes_its_specs_and_kernels(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    registry: MachineServerRegistry,
    remote_server: MachineServerProcess,
) -> None:
    kernel_id = await start_kernel(jp_fetch, REMOTE_PYTHON)
    assert REMOTE_PYTHON in (await fetch_json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
    browser = await open_kernel_channel(jp_ws_fetch, kernel_id)

    # When the machine stops (the orchestrator removes its machine server)
    registry.remove(MACHINE_ID)

    # Then its kernelspecs and kernels leave our lists; the kernel itself was not touched
    specs = (await fetch_json(jp_fetch, "api", "kernelspecs"))["kernelspecs"]
    assert not [name for name in specs if name.startswith("cloudlab.")]
    assert kernel_id not in await local_kernel_ids(jp_fetch)
    assert kernel_id in await remote_kernel_ids(remote_server)
    # And the browser's socket closes, so JupyterLab shows the kernel's state
    await browser.wait_closed()
    # And starting one names the problem rather than failing obscurely
    with pytest.raises(HTTPClientError) as e:
        await start_kernel(jp_fetch, REMOTE_PYTHON)
    assert e.value.code == 503


async def test_local_shutdown_detaches_remote_kernels(
    jp_fetch: Any,
    jp_serverapp: Any,
    registry: MachineServerRegistry,
    remote_server: MachineServerProcess,
) -> None:
    remote_id = await start_kernel(jp_fetch, REMOTE_PYTHON)
    local_id = await start_kernel(jp_fetch, "python3")

    # When the local server shuts its kernels down
    await jp_serverapp.kernel_manager.shutdown_all()

    # Then the local kernel is gone and the remote one still runs on the machine
    assert await local_kernel_ids(jp_fetch) == set()
    assert local_id not in jp_serverapp.kernel_manager
    assert remote_id in await remote_kernel_ids(remote_server)

    # And it can be adopted again (what the orchestrator does at start)
    assert remote_id in await jp_serverapp.kernel_manager.adopt_kernels(MACHINE_ID)
    assert remote_id in await local_kernel_ids(jp_fetch)


async def wait_until_idle(
    remote_server: MachineServerProcess, kernel_id: str, timeout: float = 120
) -> None:
    """Wait (not assert) until the machine reports the kernel idle."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        model = await remote_server.fetch("GET", f"api/kernels/{kernel_id}")
        if model["execution_state"] == "idle":
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"kernel {kernel_id} never went idle")
