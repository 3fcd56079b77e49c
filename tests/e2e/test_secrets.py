"""A full sandbox cycle keeps its secrets: the server's log, every REST reply, every event and the
saved notebook never carry the machine server's token, the account's AWS secret key or our SSH
private key; not even when the notebook prints the kernel's whole environment.

The cycle: launch to ready, a notebook session on a machine kernel that runs
`print(dict(os.environ))` and `!env`, the notebook saved through the contents API and read back,
stop, terminate.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.data_folder import DataFolder
from tests.helpers.kernel_channel import open_kernel_channel
from tests.helpers.rest_api import API, READY_TIMEOUT, launch_ready, wait_state

NOTEBOOK = "secrets.ipynb"
CELLS = ["import os; print(dict(os.environ))", "!env"]


class _Log(logging.Handler):
    """Every log line of this process, DEBUG included, with any traceback's text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.name} {record.levelname} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(line)


@pytest.fixture
def server_log() -> Iterator[_Log]:
    log = _Log()
    root = logging.getLogger()
    level = root.level
    root.addHandler(log)
    root.setLevel(logging.DEBUG)
    yield log
    root.removeHandler(log)
    root.setLevel(level)


class _Recorder:
    """jp_fetch that keeps every reply's body (errors too), as the browser would see them."""

    def __init__(self, jp_fetch: Any) -> None:
        self._fetch = jp_fetch
        self.replies: list[str] = []

    async def __call__(self, *path: str, **kwargs: Any) -> Any:
        reply = await self._fetch(*path, **kwargs)
        self.replies.append(
            f"{kwargs.get('method', 'GET')} /{'/'.join(path)}\n" + reply.body.decode()
        )
        return reply

    async def json(self, *path: str, method: str = "GET", body: Any = None) -> Any:
        kwargs: dict[str, Any] = {"method": method}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "DELETE"):
            kwargs["allow_nonstandard_methods"] = True
            kwargs["body"] = "" if method == "POST" else None
        return json.loads((await self(*path, **kwargs)).body)


async def _until_gone(rest: _Recorder, machine_id: str) -> None:
    """Wait until a terminated machine has left the list (its GET is a 404)."""
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while (await rest(*API, "machines", machine_id, raise_error=False)).code != 404:
        assert asyncio.get_running_loop().time() < deadline, "the machine was never terminated"
        await asyncio.sleep(0.3)


async def _read_events(stream: Any, frames: list[str]) -> None:
    while (frame := await stream.read_message()) is not None:
        frames.append(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))


def _notebook(outputs: list[str]) -> dict[str, Any]:
    cells = [
        {
            "cell_type": "code",
            "execution_count": n + 1,
            "id": f"cell-{n}",
            "metadata": {},
            "source": source,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
        }
        for n, (source, text) in enumerate(zip(CELLS, outputs, strict=True))
    ]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _secrets(backend: Any, machine_id: str, data_dir: Path) -> dict[str, str]:
    """What must never show: {name: value}; each checked to be real first."""
    server = backend.machine_servers.get(machine_id)
    assert server is not None, "the ready machine has no machine server registered"
    secrets = {
        "machine server token": server.token,
        "AWS secret access key": backend.current.ec2.target.secret_access_key or "",
    }
    key = DataFolder(data_dir).client_key.read_text().strip().splitlines()
    body = [line.strip() for line in key if line.strip() and not line.startswith("-----")]
    assert body, "the client private key has no body"
    # Each line of the key's base64 body: a leak in any layout contains them.
    secrets.update({f"private key line {n + 1}": line for n, line in enumerate(body)})
    short = {name: value for name, value in secrets.items() if len(value) < 16}
    assert not short, f"secrets too short to look for meaningfully: {sorted(short)}"
    return secrets


def _leaks(secrets: dict[str, str], places: dict[str, list[str]]) -> dict[str, list[str]]:
    """{place: names of the secrets found there}, where any is."""
    found: dict[str, list[str]] = {}
    for place, texts in places.items():
        names = [name for name, value in secrets.items() if any(value in t for t in texts)]
        if names:
            found[place] = names
    return found


def _env_names_holding(output: str, value: str) -> list[str]:
    """The variables of an `env` listing whose value holds `value` (to name the leak)."""
    return [line.split("=", 1)[0] for line in output.splitlines() if "=" in line and value in line]


async def test_a_full_cycle_leaks_no_secret(
    cloudlab_backend: Any,
    cloudlab_data_dir: Path,
    jp_fetch: Any,
    jp_ws_fetch: Any,
    jp_root_dir: Path,
    server_log: _Log,
) -> None:
    # Given a browser listening to the server's events, and every REST reply recorded
    rest = _Recorder(jp_fetch)
    stream = await jp_ws_fetch("api", "events", "subscribe")
    events: list[str] = []
    reader = asyncio.create_task(_read_events(stream, events))

    # When a machine is launched until ready
    machine = await launch_ready(rest, name="secret-cycle")
    secrets = _secrets(cloudlab_backend, machine["id"], cloudlab_data_dir)
    await rest.json(*API, "status")
    await rest.json(*API, "machines")
    await rest.json(*API, "machines", machine["id"], "connection")
    await rest.json("api", "kernelspecs")

    # And a notebook on a machine kernel prints the kernel's whole environment, twice over
    [spec] = machine["kernelspecs"]
    session = await rest.json(
        "api",
        "sessions",
        method="POST",
        body={"path": NOTEBOOK, "type": "notebook", "name": NOTEBOOK, "kernel": {"name": spec}},
    )
    kernel_id = session["kernel"]["id"]
    channel = await open_kernel_channel(jp_ws_fetch, kernel_id)
    outputs = []
    try:
        for code in CELLS:
            result = await channel.execute(code, timeout=60)
            assert result.reply["status"] == "ok", result.reply
            outputs.append(result.stdout)
    finally:
        channel.close()
    assert "HOME" in outputs[0] and "HOME=" in outputs[1], outputs  # the environment was printed

    # And the notebook is saved through the contents API and read back
    await rest.json(
        "api",
        "contents",
        NOTEBOOK,
        method="PUT",
        body={"type": "notebook", "format": "json", "content": _notebook(outputs)},
    )
    await rest.json("api", "contents", NOTEBOOK)
    await rest.json("api", "sessions")
    await rest.json("api", "kernels")
    saved = (jp_root_dir / NOTEBOOK).read_text()

    # And the machine is stopped, then terminated
    await rest.json(*API, "machines", machine["id"], "stop", method="POST")
    await wait_state(rest, machine["id"], "stopped")
    await rest.json(*API, "machines", machine["id"], method="DELETE")
    await _until_gone(rest, machine["id"])
    await asyncio.sleep(0.5)  # the last events reach the stream
    stream.close()
    await asyncio.wait_for(reader, 10)

    # Then the record is real: the log, the replies and the events did see this machine
    assert [line for line in server_log.lines if machine["id"] in line]
    assert [reply for reply in rest.replies if machine["id"] in reply]
    assert [event for event in events if machine["id"] in event and "terminated" in event]

    # And none of them, nor the saved notebook, carries a secret
    leaks = _leaks(
        secrets,
        {
            "server log": server_log.lines,
            "REST replies": rest.replies,
            "events": events,
            "saved notebook": [saved],
        },
    )
    token = secrets["machine server token"]
    detail = f"; the kernel's variables holding the machine token: {_env_names_holding(outputs[1], token)}"
    assert leaks == {}, f"secrets found: {leaks}{detail if token in outputs[1] else ''}"
