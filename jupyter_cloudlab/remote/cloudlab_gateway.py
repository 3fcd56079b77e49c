"""Runs ON the machine, inside its jupyter_server (uploaded by the bootstrap as a single file;
needs only jupyter_server). Two classes the machine's server is configured with:

* ``GatewayConnection``: TCP_NODELAY on kernel websockets. Tornado leaves Nagle on, and every
  small frame to sshd's forward then waits ~40 ms for a delayed ACK.
* ``GatewayKernelManager``: the offline buffer (output kept per kernel + session while no client
  listens, replayed when the same session returns) bounded to ``offline_buffer_bytes``. Past
  the bound, output messages (stream, display, results) are dropped while status and replies are
  kept (small, and the frontend needs them); on replay the client first gets a stderr message, in
  the cell that printed, saying how much was dropped.

``gateway_config()`` (used on the local side) gives the server config that turns them on.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Integer

MODULE_NAME = "cloudlab_gateway"
DEFAULT_OFFLINE_BUFFER_BYTES = 64 * 1024 * 1024
DELIM = b"<IDS|MSG>"
# Dropped first when the buffer is full: what carries output, not the protocol's bookkeeping.
DROPPABLE = {"stream", "display_data", "update_display_data", "execute_result", "execute_input"}


class GatewayConnection(ZMQChannelsWebsocketConnection):
    def connect(self) -> Any:
        self.websocket_handler.set_nodelay(True)
        return super().connect()


def _header(msg_parts: list[bytes]) -> dict[str, Any]:
    try:
        i = msg_parts.index(DELIM)
        return dict(json.loads(msg_parts[i + 2]))
    except (ValueError, IndexError, TypeError):
        return {}


class GatewayKernelManager(AsyncMappingKernelManager):
    offline_buffer_bytes = Integer(
        DEFAULT_OFFLINE_BUFFER_BYTES,
        config=True,
        help="Most bytes of output kept per kernel while its client is away (0: no bound).",
    )

    def start_buffering(self, kernel_id: str, session_key: str, channels: dict) -> None:
        super().start_buffering(kernel_id, session_key, channels)
        if not self.buffer_offline_messages or self.offline_buffer_bytes <= 0:
            return
        info = self._kernel_buffers[kernel_id]
        info["cloudlab"] = {"bytes": 0, "dropped": 0, "dropped_bytes": 0, "at": None}
        for channel, stream in channels.items():
            stream.on_recv(partial(self._buffer_bounded, info, channel))

    def _buffer_bounded(self, info: dict, channel: str, msg_parts: list[bytes]) -> None:
        stats = info["cloudlab"]
        size = sum(len(p) for p in msg_parts)
        if stats["bytes"] + size > self.offline_buffer_bytes:
            header = _header(msg_parts)
            if header.get("msg_type") in DROPPABLE:
                if stats["at"] is None:
                    stats["at"] = len(info["buffer"])
                    stats["parent"] = _parent(msg_parts)
                stats["dropped"] += 1
                stats["dropped_bytes"] += size
                return
        stats["bytes"] += size
        info["buffer"].append((channel, msg_parts))

    def get_buffer(self, kernel_id: str, session_key: str) -> Any:
        info = super().get_buffer(kernel_id, session_key)
        stats = (info or {}).get("cloudlab")
        if not stats or not stats["dropped"]:
            return info
        notice = (
            f"[CloudLab] {stats['dropped']} output message(s), "
            f"{stats['dropped_bytes'] / 1e6:.1f} MB, were dropped while no client was connected: "
            f"the machine keeps at most {self.offline_buffer_bytes / 1e6:.0f} MB per kernel "
            "(setting: offline buffer).\n"
        )
        self.log.warning("Kernel %s: %s", kernel_id, notice.strip())
        session = self.get_kernel(kernel_id).session
        msg = session.msg("stream", {"name": "stderr", "text": notice}, parent=stats["parent"])
        info["buffer"].insert(stats["at"], ("iopub", session.serialize(msg)))
        return info


def _parent(msg_parts: list[bytes]) -> dict[str, Any]:
    try:
        i = msg_parts.index(DELIM)
        return dict(json.loads(msg_parts[i + 3]))
    except (ValueError, IndexError, TypeError):
        return {}


def gateway_config(
    offline_buffer_bytes: int = DEFAULT_OFFLINE_BUFFER_BYTES,
    cull_idle_timeout: int = 0,
    cull_interval: int = 300,
    cull_connected: bool = False,
    cull_busy: bool = False,
    ping_interval: int = 10,
) -> dict[str, Any]:
    """The machine's server config (JSON-able): these classes, no IOPub rate limit (it drops big
    outputs), websocket pings, and the user's culling settings (0: never cull)."""
    return {
        "ServerApp": {
            "kernel_manager_class": f"{MODULE_NAME}.GatewayKernelManager",
            "kernel_websocket_connection_class": f"{MODULE_NAME}.GatewayConnection",
            # Kernel websockets take their pings from these (ms), not websocket_ping_*.
            "tornado_settings": {
                "ws_ping_interval": ping_interval * 1000,
                "ws_ping_timeout": ping_interval * 3 * 1000,
            },
        },
        "ZMQChannelsWebsocketConnection": {"limit_rate": False},
        "GatewayKernelManager": {"offline_buffer_bytes": offline_buffer_bytes},
        "MappingKernelManager": {
            "cull_idle_timeout": cull_idle_timeout,
            "cull_interval": cull_interval,
            "cull_connected": cull_connected,
            "cull_busy": cull_busy,
        },
    }
