"""Runs ON the machine, sent over SSH by the CLI (`jupyter cloudlab idle|budget|keep-alive`): one
request to the machine server's guard (``/cloudlab/guard``, see cloudlab_guard.py) through its
Unix socket, with its token read here, so the token never leaves the machine. Loaded after
service.py (as ``cloudlab_service``); prints ``CLOUDLAB-GUARD <status> <json>``. Stdlib only."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

try:  # a package module (tests) or loaded after service.py on the machine
    from . import service
except ImportError:
    import cloudlab_service as service  # type: ignore[no-redef]

TOKEN_FILE = service.STATE / "token"
STATE_FILE = service.STATE / "state.json"
"""Where the bootstrap recorded the server's socket (or, from an earlier version, its port)."""


def _connection() -> http.client.HTTPConnection | None:
    """To the machine server, if it listens where only this user can have put it."""
    try:
        recorded = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None
    socket, port = recorded.get("socket"), recorded.get("port")
    if isinstance(socket, str) and service.private(Path(socket).parent):
        return service._UnixHTTPConnection(socket, 10)
    if isinstance(port, int) and service.tcp_listener_is_ours(port):
        return http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    return None


def call(settings: dict) -> tuple[int, str]:
    """PUT the settings (GET when there are none); the status and the body of the reply."""
    connection = _connection()
    if connection is None:
        return 503, json.dumps({"message": "No CloudLab machine server runs here."})
    token = TOKEN_FILE.read_text().strip()
    headers = {"Authorization": "token " + token, "Host": service.HOST}
    try:
        if settings:
            headers["Content-Type"] = "application/json"
            connection.request("PUT", "/cloudlab/guard", json.dumps(settings), headers)
        else:
            connection.request("GET", "/cloudlab/guard", headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        return 503, json.dumps({"message": f"The machine server did not answer: {error}"})
    finally:
        connection.close()


def run(argv: list[str]) -> int:
    status, body = call(json.loads(argv[1]) if len(argv) > 1 else {})
    print("CLOUDLAB-GUARD", status, body.replace("\n", " "))
    return 0
