"""A machine kernel works beside its notebook's files: the kernel side of the workspace mirror.

The machine is a real jupyter_server subprocess (its HOME is the machine user's home); the
mirror is a stand-in (tests/helpers/fake_workspace.py) seen through the kernel layer's Protocols.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_cloudlab.kernels.config import attach_machine_servers
from jupyter_cloudlab.kernels.machine_servers import MachineServer, MachineServerRegistry
from jupyter_cloudlab.kernels.relay.own_messages import WORKSPACE_ERROR_NAME
from tests.helpers.fake_workspace import FakeFiles
from tests.helpers.kernel_channel import KernelChannel, open_kernel_channel, until
from tests.helpers.machine_server import MachineServerProcess

MACHINE_ID = "m-work"
KERNEL = f"cloudlab.{MACHINE_ID}.python3"
NOTEBOOK = "project/analysis.ipynb"
CWD = "import os; print(os.getcwd())"


@pytest.fixture
def jp_server_config(kernel_mixing_server_config: Config) -> Config:
    return kernel_mixing_server_config


@pytest.fixture
def files(jp_root_dir: Path, remote_server: MachineServerProcess) -> FakeFiles:
    (jp_root_dir / "project").mkdir()
    (jp_root_dir / NOTEBOOK).write_text(json.dumps({"cells": [], "metadata": {}}))
    (jp_root_dir / "project" / "helper.py").write_text("X = 1\n")
    return FakeFiles(jp_root_dir, remote_server.home)


def register(
    jp_serverapp: Any, remote_server: MachineServerProcess, files: FakeFiles | None
) -> None:
    registry = MachineServerRegistry()
    assert attach_machine_servers(jp_serverapp, registry)
    registry.add(
        MachineServer(MACHINE_ID, "box", remote_server.url, remote_server.token, "t3", files=files)
    )


@pytest.fixture
def mirrored(
    jp_serverapp: Any, remote_server: MachineServerProcess, files: FakeFiles
) -> Iterator[FakeFiles]:
    register(jp_serverapp, remote_server, files)
    yield files
    remote_server.delete_all_kernels()


async def start_session(jp_fetch: Any, path: str = NOTEBOOK, kind: str = "notebook") -> str:
    body = {"path": path, "name": path.rsplit("/", 1)[-1], "type": kind, "kernel": {"name": KERNEL}}
    reply = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
    return str(json.loads(reply.body)["kernel"]["id"])


async def channel(jp_fetch: Any, jp_ws_fetch: Any, v1: bool = True) -> KernelChannel:
    kernel_id = await start_session(jp_fetch)
    ws = await open_kernel_channel(jp_ws_fetch, kernel_id, v1=v1)
    await ws.wait_answering()
    return ws


async def test_the_kernel_works_in_the_mirror_of_its_notebook_folder(
    jp_fetch: Any, jp_ws_fetch: Any, mirrored: FakeFiles, remote_server: MachineServerProcess
) -> None:
    # Given a notebook in project/ and a machine whose mirror is on
    # When a kernel starts for it on the machine
    ws = await channel(jp_fetch, jp_ws_fetch)
    # Then the mirror opened the notebook and the kernel works in its folder's mirror
    result = await ws.execute(CWD)
    assert result.stdout.strip() == str(remote_server.home / "cloudlab/work/project")
    assert mirrored.opened == [NOTEBOOK]
    ws.close()


async def test_a_console_works_in_the_workspace_root(
    jp_fetch: Any, jp_ws_fetch: Any, mirrored: FakeFiles, remote_server: MachineServerProcess
) -> None:
    # Given a console (its session path names no file)
    kernel_id = await start_session(jp_fetch, "project/console-1-abc", "console")
    ws = await open_kernel_channel(jp_ws_fetch, kernel_id)
    await ws.wait_answering()
    # Then it works in the workspace root
    result = await ws.execute(CWD)
    assert result.stdout.strip() == str(remote_server.home / "cloudlab/work")
    assert mirrored.opened == [None]
    ws.close()


@pytest.mark.parametrize("v1", [True, False], ids=["v1", "legacy"])
async def test_each_cell_pushes_first_and_pulls_after_idle(
    jp_fetch: Any, jp_ws_fetch: Any, mirrored: FakeFiles, v1: bool
) -> None:
    ws = await channel(jp_fetch, jp_ws_fetch, v1=v1)
    assert "push" not in mirrored.events  # kernel_info is no cell
    # When two cells run
    first = await ws.execute("print(open('pushes.txt').read())")
    await until(lambda: mirrored.events.count("pull") == 1, "the first pull")
    second = await ws.execute("print(open('pushes.txt').read())")
    await until(lambda: mirrored.events.count("pull") == 2, "the second pull")
    # Then each was pushed once, before it ran, and pulled after it
    assert (first.stdout.strip(), second.stdout.strip()) == ("1", "2")
    assert mirrored.events == ["push", "pull", "push", "pull"]
    ws.close()


async def test_frames_keep_their_order_behind_a_held_cell(
    jp_fetch: Any, jp_ws_fetch: Any, mirrored: FakeFiles
) -> None:
    ws = await channel(jp_fetch, jp_ws_fetch)
    # Given a push that takes a while
    mirrored.hold_push = asyncio.Event()
    # When a cell, a kernel_info request and another cell are sent at once
    cell = await ws.send_execute("x = 1")
    info = await ws.send("shell", "kernel_info_request", {})
    later = await ws.send_execute("x = 2")
    await until(lambda: mirrored.events == ["push"], "the first push")
    await asyncio.sleep(0.3)
    mirrored.hold_push.set()
    # Then the replies come in the order they were asked
    replies: list[str] = []
    while len(replies) < 3:
        message = await ws.recv()
        assert message is not None
        if message.msg_type in ("execute_reply", "kernel_info_reply"):
            assert message.parent_msg_id is not None
            replies.append(message.parent_msg_id)
    assert replies == [cell, info, later]
    ws.close()


@pytest.mark.parametrize("v1", [True, False], ids=["v1", "legacy"])
async def test_a_failed_push_shows_in_the_cell_which_does_not_run(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    mirrored: FakeFiles,
    remote_server: MachineServerProcess,
    v1: bool,
) -> None:
    ws = await channel(jp_fetch, jp_ws_fetch, v1=v1)
    # Given a push that fails
    mirrored.push_error = OSError("the link to the machine is down")
    # When a cell runs
    result = await ws.execute("open('ran.txt', 'w').write('yes')")
    # Then the cell shows why it did not run, and it did not run
    assert result.reply["status"] == "error"
    assert result.reply["ename"] == WORKSPACE_ERROR_NAME
    assert "the link to the machine is down" in result.reply["evalue"]
    errors = [m for m in result.messages if m.msg_type == "error"]
    assert errors and "was not run" in errors[0].content["evalue"]
    assert not (remote_server.home / "cloudlab/work/project/ran.txt").exists()
    # And once the push works again, the next cell runs
    mirrored.push_error = None
    assert (await ws.execute("print(2)")).stdout.strip() == "2"
    ws.close()


async def test_a_failed_first_mirror_is_a_clear_start_error(
    jp_fetch: Any, mirrored: FakeFiles
) -> None:
    mirrored.open_error = OSError("no space left on the machine")
    with pytest.raises(HTTPClientError) as caught:
        await start_session(jp_fetch)
    # (jupyter_server's sessions handler turns every start error into a 500 with its sentence)
    assert caught.value.code == 500
    assert caught.value.response is not None
    message = json.loads(caught.value.response.body)["message"]
    assert "no space left on the machine" in message and "mirror off" in message


async def test_mirror_off_keeps_the_old_behaviour(
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_serverapp: Any,
    remote_server: MachineServerProcess,
    files: FakeFiles,
) -> None:
    # Given a machine whose mirror is off
    register(jp_serverapp, remote_server, None)
    try:
        ws = await channel(jp_fetch, jp_ws_fetch)
        # Then its kernel works in the machine server's root (no project/ there) and no push runs
        result = await ws.execute(CWD)
        assert result.stdout.strip() == str(remote_server.home)
        assert files.events == [] and files.opened == []
        ws.close()
    finally:
        remote_server.delete_all_kernels()


async def test_a_readopted_kernel_finds_its_workspace_through_its_session(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, mirrored: FakeFiles
) -> None:
    # Given a kernel started for the notebook, then forgotten as after a restart of this server
    kernel_id = await start_session(jp_fetch)
    manager = jp_serverapp.kernel_manager
    manager.get_kernel(kernel_id).keep_workspace(None, None, None)
    manager.get_kernel(kernel_id).notebook_path_known = False
    # When a cell runs
    ws = await open_kernel_channel(jp_ws_fetch, kernel_id)
    await ws.wait_answering()
    await ws.execute("1+1")
    # Then the workspace was opened again from the session's notebook
    assert mirrored.opened == [NOTEBOOK, NOTEBOOK]
    assert mirrored.events[0] == "push"
    ws.close()
