"""A terminal on the machine through the local server's proxy: REST to create it, the websocket
both ways (``pwd`` answers the machine's home), and a stopped machine answered at once; a refused
socket says why in the JSON sentence of every CloudLab route."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.helpers.rest_api import API, api_json, launch_ready, wait_state

# A stopped machine's proxy answers within this (no timeout waited out).
QUICK_SECONDS = 3.0


def _server_root(port: int, base_url: str, machine_id: str) -> str:
    return f"127.0.0.1:{port}{base_url.rstrip('/')}/cloudlab/machines/{machine_id}/server/"


async def _open_terminal(root: str, auth: dict[str, str], name: str) -> WebSocketClientConnection:
    request = HTTPRequest(f"ws://{root}terminals/websocket/{name}", headers=auth)
    return await websocket_connect(request)


async def _refusal(root: str, auth: dict[str, str], name: str) -> tuple[int, str]:
    """The status and JSON sentence that refuse a terminal's websocket before its upgrade."""
    try:
        socket = await _open_terminal(root, auth, name)
    except HTTPClientError as e:
        assert e.response is not None
        assert e.response.headers["Content-Type"].startswith("application/json"), e.response
        message = json.loads(e.response.body)["message"]
        assert isinstance(message, str)
        return e.code, message
    socket.close()
    raise AssertionError(f"the terminal {name!r} opened")


async def _output_until(socket: WebSocketClientConnection, text: str, timeout: float = 30) -> str:
    """The terminal's output, read until ``text`` appears in it."""
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} never came; output so far: {seen[-500:]!r}"
        message = await asyncio.wait_for(socket.read_message(), left)
        assert message is not None, f"closed before {text!r}: {seen[-500:]!r}"
        kind, *rest = json.loads(message)
        if kind == "stdout":
            seen += rest[0]
    return seen


async def test_terminal_runs_pwd_on_the_machine_then_a_stopped_machine_says_so(
    cloudlab_backend: Any,
    cloudlab_data_dir: Path,
    jp_fetch: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    # Given a ready machine
    machine = await launch_ready(jp_fetch, name="term-box")
    root = _server_root(jp_http_port, jp_base_url, machine["id"])
    home = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"] / "home" / "ubuntu"
    client = AsyncHTTPClient()

    # When a terminal is created through the proxy and `pwd` typed into its websocket
    reply = await client.fetch(
        f"http://{root}api/terminals", method="POST", body="{}", headers=jp_auth_header
    )
    terminal = json.loads(reply.body)["name"]
    listed = json.loads(
        (await client.fetch(f"http://{root}api/terminals", headers=jp_auth_header)).body
    )
    assert terminal in [t["name"] for t in listed]
    socket = await _open_terminal(root, jp_auth_header, terminal)
    socket.write_message(json.dumps(["stdin", "pwd\r"]))

    # Then the machine's shell answers with the machine's home (the sandbox's, on this host)
    await _output_until(socket, str(home))

    # And a terminal that does not exist on the machine is refused with a sentence naming both
    code, message = await _refusal(root, jp_auth_header, "no-such-terminal")
    assert code == 404
    assert "'no-such-terminal'" in message and "'term-box'" in message, message

    # When the machine is stopped
    await api_json(jp_fetch, *API, "machines", machine["id"], "stop", method="POST")

    # Then the open terminal closes, telling why (JupyterLab's terminal then reconnects)
    last_words = ""
    while (message := await asyncio.wait_for(socket.read_message(), 60)) is not None:
        last_words = str(message)
    assert socket.close_code == 1011, socket.close_code
    assert "dropped" in last_words, last_words
    await wait_state(jp_fetch, machine["id"], "stopped")

    # And every proxied route answers at once with a sentence naming the state
    for method, path in (
        ("GET", "api/contents"),
        ("GET", "files/x.txt"),
        ("GET", "api/terminals"),
        ("POST", "api/terminals"),
    ):
        started = time.monotonic()
        reply = await client.fetch(
            f"http://{root}{path}",
            method=method,
            body="{}" if method == "POST" else None,
            headers=jp_auth_header,
            raise_error=False,
        )
        assert time.monotonic() - started < QUICK_SECONDS, path
        assert reply.code == 409, (path, reply.code, reply.body)
        assert "stopped" in json.loads(reply.body)["message"], reply.body
    # And the terminal's socket too, the sentence naming the machine and what to do
    started = time.monotonic()
    code, message = await _refusal(root, jp_auth_header, terminal)
    assert code == 409
    assert "'term-box' is stopped" in message and "start it" in message, message
    assert time.monotonic() - started < QUICK_SECONDS

    # And an unknown machine is a 404
    reply = await client.fetch(
        f"http://{_server_root(jp_http_port, jp_base_url, 'm-00000000')}api/contents",
        headers=jp_auth_header,
        raise_error=False,
    )
    assert reply.code == 404 and json.loads(reply.body)["message"]
