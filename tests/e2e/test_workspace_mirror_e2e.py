"""The notebook's folder follows its kernel, end to end: the sandbox's machine (real sshd, real
machine server), the real mirror over SFTP, a kernel started for a notebook like JupyterLab does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.kernel_channel import KernelChannel, open_kernel_channel, until
from tests.helpers.rest_api import API, api_json, api_reply, error_message, launch_ready

SIZE_LIMIT = 64 * 1024 * 1024


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    jp_server_config["CloudLab"].update(workspace_size_limit=SIZE_LIMIT, workspace_scope="git")
    return jp_server_config


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    folder = jp_root_dir / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "analysis.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    (folder / "helper.py").write_text("X = 1\n")
    (folder / "data" / "train.csv").write_text("a,b\n1,2\n")
    return folder


async def notebook_kernel(jp_fetch: Any, jp_ws_fetch: Any, kernel_name: str) -> KernelChannel:
    body = {
        "path": "project/analysis.ipynb",
        "name": "analysis.ipynb",
        "type": "notebook",
        "kernel": {"name": kernel_name},
    }
    reply = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
    ws = await open_kernel_channel(jp_ws_fetch, json.loads(reply.body)["kernel"]["id"])
    await ws.wait_answering()
    return ws


async def test_the_notebook_folder_follows_its_kernel(
    cloudlab_backend: Any,
    cloudlab_data_dir: Path,
    jp_fetch: Any,
    jp_ws_fetch: Any,
    project: Path,
) -> None:
    # Given a ready machine (the server's settings reach its mirror)
    machine = await launch_ready(jp_fetch, name="work-box")
    session = await cloudlab_backend.session()
    assert session.workspaces.settings.size_limit == SIZE_LIMIT
    assert session.workspaces.settings.scope == "git"
    assert (machine["mirror"], machine["workspace"]) == (True, "~/cloudlab/work")
    home = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"] / "home" / "ubuntu"
    kernel = next(k for k in machine["kernelspecs"] if k.endswith(".python3"))

    # When a kernel starts for project/analysis.ipynb on it
    ws = await notebook_kernel(jp_fetch, jp_ws_fetch, kernel)

    # Then it works beside the notebook's files
    first = await ws.execute(
        "import os, csv, helper; print(os.getcwd()); print(helper.X); "
        "print(list(csv.reader(open('data/train.csv'))))"
    )
    assert first.reply["status"] == "ok", first.reply
    cwd, x, rows = first.stdout.strip().splitlines()
    assert cwd == str(home / "cloudlab/work/project")
    assert (x, rows) == ("1", "[['a', 'b'], ['1', '2']]")

    # And a local edit is there for the next cell
    (project / "helper.py").write_text("X = 22\n")
    second = await ws.execute("import importlib; importlib.reload(helper); print(helper.X)")
    assert second.stdout.strip() == "22"

    # And what a cell writes comes back
    await ws.execute("open('out.png', 'wb').write(b'\\x89PNG fake')")
    await until(lambda: (project / "out.png").exists(), "out.png to come back")
    await until(lambda: (project / "out.png").read_bytes() == b"\x89PNG fake", "all of out.png")

    # When the machine's mirror is turned off
    changed = await api_json(
        jp_fetch, *API, "machines", machine["id"], method="PATCH", body={"mirror": False}
    )
    assert changed["mirror"] is False
    assert (await api_json(jp_fetch, *API, "machines", machine["id"]))["mirror"] is False
    # Then local edits stay local
    (project / "helper.py").write_text("X = 333\n")
    third = await ws.execute("importlib.reload(helper); print(helper.X)")
    assert third.stdout.strip() == "22"
    ws.close()


async def test_the_mirror_switch_refuses_bad_input(cloudlab_backend: Any, jp_fetch: Any) -> None:
    status, text = await api_reply(
        jp_fetch, *API, "machines", "m-0000dead", method="PATCH", raw_body='{"mirror": false}'
    )
    assert status == 404, text
    status, text = await api_reply(
        jp_fetch, *API, "machines", "m-0000dead", method="PATCH", raw_body='{"mirror": "no"}'
    )
    assert "mirror" in error_message(status, text)
    status, text = await api_reply(
        jp_fetch, *API, "machines", "m-0000dead", method="PATCH", raw_body='{"colour": 1}'
    )
    assert "colour" in error_message(status, text)
