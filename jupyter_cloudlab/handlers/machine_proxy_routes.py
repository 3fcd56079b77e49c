"""The routes that reach a machine's own jupyter server (files, terminals), outside the REST API.

Not in the OpenAPI document: they are the machine server's own API (JupyterLab's Drive and
terminal speak it), proxied under ``/cloudlab/machines/<machine id>/server/``.
"""

from __future__ import annotations

from typing import Any

from .machine_proxy import ROUTES as HTTP_ROUTES
from .machine_terminal import ROUTES as WEBSOCKET_ROUTES


def machine_proxy_routes() -> list[tuple[str, Any]]:
    """(pattern, handler) pairs relative to the server's base URL."""
    return [*HTTP_ROUTES, *WEBSOCKET_ROUTES]
