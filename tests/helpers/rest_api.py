"""Calling the local server's REST API like the panel does, and waiting for a machine's state.

Kept free of fixtures so any test module can use them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

# Generous: a CI runner with 2 slow cores takes a while to boot and bootstrap a sandbox machine.
READY_TIMEOUT = 180
API = ("cloudlab", "api")
TRACEBACK_MARKERS = ("Traceback", 'File "')


async def api_json(jp_fetch: Any, *path: str, method: str = "GET", body: Any = None) -> Any:
    """The JSON reply of a successful request (jp_fetch raises on a 4xx/5xx)."""
    kwargs: dict[str, Any] = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    elif method in ("POST", "DELETE"):
        kwargs["allow_nonstandard_methods"] = True
        if method == "POST":
            kwargs["body"] = ""
    reply = await jp_fetch(*path, **kwargs)
    return json.loads(reply.body)


async def api_reply(
    jp_fetch: Any, *path: str, method: str = "GET", raw_body: str | None = None
) -> tuple[int, str]:
    """(status, body text) of any request, error or not; `raw_body` is sent as is."""
    kwargs: dict[str, Any] = {"method": method, "raise_error": False}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["body"] = raw_body if raw_body is not None else ""
    elif method == "DELETE":
        kwargs["allow_nonstandard_methods"] = True
    reply = await jp_fetch(*path, **kwargs)
    return reply.code, reply.body.decode("utf-8", "replace")


def error_message(status: int, text: str) -> str:
    """The `message` of a 4xx JSON error reply, after checking it is one and leaks no traceback."""
    assert 400 <= status < 500, (status, text)
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, text
    body = json.loads(text)
    assert isinstance(body, dict), text
    message = body["message"]
    assert isinstance(message, str) and message.strip(), text
    return message


async def wait_state(jp_fetch: Any, machine_id: str, state: str) -> dict[str, Any]:
    """The machine once the API shows it in `state`; fails fast if it fails."""
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while True:
        machine = await api_json(jp_fetch, *API, "machines", machine_id)
        if machine["state"] == state:
            return machine  # type: ignore[no-any-return]
        assert machine["state"] != "failed", machine["message"]
        assert asyncio.get_running_loop().time() < deadline, f"still {machine['state']}"
        await asyncio.sleep(0.3)


async def launch_ready(
    jp_fetch: Any, name: str = "test-box", instance_type: str = "t3.medium"
) -> dict[str, Any]:
    """Launch a machine on the sandbox's first image and wait until it is ready."""
    images = (await api_json(jp_fetch, *API, "catalog", "images"))["images"]
    launched = await api_json(
        jp_fetch,
        *API,
        "machines",
        method="POST",
        body={"name": name, "instance_type": instance_type, "image_id": images[0]["id"]},
    )
    return await wait_state(jp_fetch, launched["id"], "ready")
