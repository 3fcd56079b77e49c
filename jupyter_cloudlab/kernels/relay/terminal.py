"""A terminal's websocket on a machine server, for the local server's terminal proxy.

Simpler than a kernel's relay: terminado's messages are small JSON texts (``["stdin", "ls\\r"]``,
``["stdout", "..."]``), so tornado's client, which hands over whole messages, is enough; it
reaches the tunnel's Unix socket through the REST client's resolver. The token goes in the
``Authorization`` header only. terminado keeps the shell and its recent output while nobody
listens, so a socket opened again after a link cut finds the same shell.
"""

from __future__ import annotations

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from ..machine_servers import MachineServer
from ..server_client import (
    CONNECT_TIMEOUT,
    SOCKET_HOST,
    UPSTREAM_PING_INTERVAL,
    UPSTREAM_PING_TIMEOUT,
    MachineServerError,
    SocketResolver,
)

# terminado sends output in pieces of a few kB; a message past this is not a terminal's.
MAX_TERMINAL_MESSAGE_BYTES = 4 * 1024 * 1024


async def open_terminal_socket(
    machine_server: MachineServer, terminal_name: str
) -> WebSocketClientConnection:
    """Connect to ``terminals/websocket/<name>`` on the machine server. ``terminal_name`` must be
    checked by the caller. Raises MachineServerError: 404 when the machine has no such terminal,
    599 when it cannot be reached."""
    base = machine_server.base_url.rstrip("/")
    url = "ws" + base[len("http") :] + f"/terminals/websocket/{terminal_name}"
    headers = {"Authorization": f"token {machine_server.token}"}
    path = machine_server.socket_path
    if path is not None:
        headers["Host"] = SOCKET_HOST
    request = HTTPRequest(url, headers=headers, connect_timeout=CONNECT_TIMEOUT)
    try:
        return await websocket_connect(
            request,
            ping_interval=UPSTREAM_PING_INTERVAL,
            ping_timeout=UPSTREAM_PING_TIMEOUT,
            max_message_size=MAX_TERMINAL_MESSAGE_BYTES,
            resolver=SocketResolver(path=path) if path is not None else None,
        )
    except HTTPClientError as e:
        raise MachineServerError(e.code, f"terminal websocket {url}: {e.message}") from e
    except (OSError, TimeoutError) as e:
        raise MachineServerError(599, f"terminal websocket {url}: {e or 'timed out'}") from e
