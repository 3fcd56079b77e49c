"""Runs ON the machine, inside its jupyter_server (uploaded by the bootstrap with the modules it
imports, ``MODULES``; needs only jupyter_server). Two classes the machine's server is configured
with:

* ``ResumingConnection``: TCP_NODELAY on kernel websockets. Tornado leaves Nagle on, and every
  small frame to sshd's forward then waits ~40 ms for a delayed ACK. And an acknowledged resume:
  when the laptop's link dies silently (no FIN, no RST) this server keeps writing frames into a
  socket that still looks open for seconds, and they are lost; the offline buffer only starts when
  the close is noticed. So every frame sent to a client session is also kept in a bounded log
  (``resume_buffer_bytes``, per kernel + session); a client that reconnects with the same session
  and ``resume_after=<msg_id of the last frame it got>`` first gets the logged frames after that
  one (all of them when the id is unknown), then the offline buffer, each message once. Output
  the log had to let go is announced instead, in its cell, once. While a
  stale connection of the session is still open here (its close waits on the dead peer), what it
  would write goes to the session's newest connection instead.
* ``BufferingKernelManager``: the offline buffer (output kept per kernel + session while no client
  listens, replayed when the same session returns) bounded to ``offline_buffer_bytes``. Past
  the bound, output messages (stream, display, results) are dropped while status and replies are
  kept (small, and the frontend needs them); on replay the client first gets a stderr message, in
  the cell that printed, saying how much was dropped. And kernel activity for the culler read
  from headers only (cloudlab_activity). And kernels start without the server's token in their
  environment (``KERNEL_ENV_HIDDEN``): ``!env`` in a notebook would put it in the saved file.

``server_config()`` (used on the local side) gives the server config that turns them on.
"""

from __future__ import annotations

import json
import os
import weakref
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.websocket import WebSocketClosedError
from traitlets import Integer

try:  # imported as a package module (tests) or loaded beside it on the machine (see MODULES)
    from .cloudlab_activity import DELIM, watch_activity
    from .cloudlab_sent_log import V1_PROTOCOL, SentFrame, SentLog, frame_msg_id
except ImportError:
    from cloudlab_activity import DELIM, watch_activity  # type: ignore[no-redef]
    from cloudlab_sent_log import V1_PROTOCOL, SentFrame, SentLog, frame_msg_id  # type: ignore[no-redef]

MODULE_NAME = "cloudlab_server"
# What the bootstrap uploads to the machine: this module and the ones it imports from.
MODULES = (
    MODULE_NAME,
    "cloudlab_sent_log",
    "cloudlab_activity",
    "cloudlab_contents",
    "cloudlab_idle",  # the guard: idle stop, budget deadline, spot notice
    "cloudlab_spot",
    "cloudlab_guard",
)
DEFAULT_OFFLINE_BUFFER_BYTES = 64 * 1024 * 1024
# Dropped first when the buffer is full: what carries output, not the protocol's bookkeeping.
DROPPABLE = {"stream", "display_data", "update_display_data", "execute_result", "execute_input"}
DEFAULT_RESUME_BUFFER_BYTES = 32 * 1024 * 1024
RESUME_MAX_SESSIONS = 4  # sessions (browser tabs) remembered per kernel
# The server's own secret (or where to read it), never passed on to a kernel it starts.
KERNEL_ENV_HIDDEN = ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE")


def kernel_env(env: dict[str, str] | None) -> dict[str, str]:
    """The environment a kernel starts with: the one given (else the server's), less
    ``KERNEL_ENV_HIDDEN``."""
    base = os.environ if env is None else env
    return {key: value for key, value in base.items() if key not in KERNEL_ENV_HIDDEN}


class ResumingConnection(ZMQChannelsWebsocketConnection):
    _log: SentLog | None = None
    _generation = 0
    _outgoing: tuple[str, str] | None = None
    """The msg_id and msg_type of the message being written, when known from its header."""
    _protocol: tuple[str | None] | None = None

    @property
    def subprotocol(self) -> str | None:
        """The protocol negotiated at connect. tornado forgets it once the socket closes, and
        output still serialized for a closing socket is kept for a resume in that protocol."""
        if self._protocol is not None:
            return self._protocol[0]
        return super().subprotocol

    def connect(self) -> Any:
        self._protocol = (super().subprotocol,)
        self.websocket_handler.set_nodelay(True)
        manager = self.multi_kernel_manager
        if isinstance(manager, BufferingKernelManager):
            self._log = manager.sent_log(self.kernel_id, self.session_key, self.subprotocol)
        if self._log is not None:
            self._log.generation += 1
            self._generation = self._log.generation
            self._log.current = weakref.ref(self)
            resume_after = self.websocket_handler.get_argument("resume_after", None)
            if resume_after is not None:
                frames, lost = self._log.after(resume_after)
                self.log.info(
                    "Resuming %s after %s: %d frame(s)", self.session_key, resume_after, len(frames)
                )
                if lost:
                    self._announce_lost(lost)
                for msg_id, frame, binary in frames:
                    self._send(msg_id, frame, binary)
        # Then the offline buffer (replayed through _on_zmq_reply: what was just resent is skipped)
        return super().connect()

    def tell_cell(self, text: str, parent: dict) -> None:
        """A stderr line in the cell of PARENT (an execute_request's header), logged for a
        resume like any frame (the guard's spot notice)."""
        msg = self.session.msg("stream", {"name": "stderr", "text": text}, parent)
        if self.subprotocol == V1_PROTOCOL:
            frame: str | bytes = serialize_msg_to_ws_v1(msg, "iopub", self.session.pack)
        else:
            frame = self._reserialize_reply(self.session.serialize(msg), channel="iopub")
        binary = isinstance(frame, bytes)
        if self._log is None:
            self.websocket_handler.write_message(frame, binary=binary)
        else:
            self._send(msg["header"]["msg_id"], frame, binary, output=True)

    def _announce_lost(self, lost: list[SentFrame]) -> None:
        """A stderr line in the cell whose output is lost, as the offline buffer's notice."""
        assert self._log is not None
        text = (
            f"[CloudLab] {len(lost)} output message(s), {sum(e.size for e in lost) / 1e6:.1f} MB, "
            "were lost with the connection: the machine keeps the last "
            f"{self._log.max_bytes / 1e6:.0f} MB of output per kernel to send again.\n"
        )
        self.log.warning("Kernel %s: %s", self.kernel_id, text.strip())
        msg = self.session.msg("stream", {"name": "stderr", "text": text}, lost[0].parent)
        if self.subprotocol == V1_PROTOCOL:
            self.websocket_handler.write_message(
                serialize_msg_to_ws_v1(msg, "iopub", self.session.pack), binary=True
            )
        else:
            frame = self._reserialize_reply(self.session.serialize(msg), channel="iopub")
            self.websocket_handler.write_message(frame, binary=isinstance(frame, bytes))

    @property
    def write_message(self) -> Callable[..., Any]:
        """Every frame to the client goes through here (replies, output, status, notices)."""
        return self._write_frame

    def _on_zmq_reply(self, stream: Any, msg_list: Any) -> None:
        # From the message itself, so a large legacy JSON frame is not parsed again.
        self._outgoing = _zmq_id_and_type(msg_list, self.session.unpack)
        try:
            super()._on_zmq_reply(stream, msg_list)
        finally:
            self._outgoing = None

    def _write_frame(self, message: str | bytes, binary: bool = False) -> Any:
        msg_id, msg_type = self._outgoing or (frame_msg_id(message, self.subprotocol), None)
        if self._log is None or msg_id is None:
            return self.websocket_handler.write_message(message, binary=binary)
        return self._send(msg_id, message, binary, output=msg_type in DROPPABLE)

    def _send(self, msg_id: str, frame: str | bytes, binary: bool, output: bool = False) -> Any:
        """Write to the session's newest connection (this one unless it is a stale one still
        open), once per connection, and log it for a resume."""
        log = self._log
        assert log is not None
        target: ResumingConnection = self
        newest = log.current()
        if (
            newest is not None
            and newest is not self
            and newest.subprotocol == self.subprotocol
            and newest._writable()
        ):
            target = newest
        if log.delivered(msg_id, target._generation):
            return None
        log.record(msg_id, frame, binary, target._generation, output)
        try:
            return target.websocket_handler.write_message(frame, binary=binary)
        except WebSocketClosedError:
            # Kept in the log: the client gets it when it resumes.
            self.log.debug("Frame %s for %s not sent: socket closed", msg_id, self.session_key)
            return None

    def _writable(self) -> bool:
        ws = self.websocket_handler.ws_connection
        return ws is not None and not ws.is_closing()


def _zmq_id_and_type(msg_or_list: Any, unpack: Callable[[bytes], Any]) -> tuple[str, str] | None:
    """The msg_id and msg_type of what _on_zmq_reply gets: a message dict (legacy) or the v1
    parts."""
    try:
        is_dict = isinstance(msg_or_list, dict)
        header = msg_or_list["header"] if is_dict else unpack(msg_or_list[0])
        msg_id, msg_type = header["msg_id"], header.get("msg_type")
    except (LookupError, TypeError, ValueError, AttributeError):
        return None
    if not (isinstance(msg_id, str) and msg_id):
        return None
    return msg_id, str(msg_type)


def _zmq_part(msg_parts: list[bytes], after_delimiter: int) -> dict[str, Any]:
    """A JSON part of a kernel message as ZMQ frames: 2 its header, 3 its parent header."""
    try:
        i = msg_parts.index(DELIM)
        return dict(json.loads(msg_parts[i + after_delimiter]))
    except (ValueError, IndexError, TypeError):
        return {}


class BufferingKernelManager(AsyncMappingKernelManager):
    offline_buffer_bytes = Integer(
        DEFAULT_OFFLINE_BUFFER_BYTES,
        config=True,
        help="Most bytes of output kept per kernel while its client is away (0: no bound).",
    )
    resume_buffer_bytes = Integer(
        DEFAULT_RESUME_BUFFER_BYTES,
        config=True,
        help="Most bytes of sent frames kept per kernel + session, resent to a client that "
        "reconnects with resume_after=<msg_id> (0: no resume).",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sent_logs: dict[str, OrderedDict[str, SentLog]] = {}

    async def start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, path: Any = None, **kwargs: Any
    ) -> str:
        """Start a kernel whose environment lacks the server's token (restarts reuse it)."""
        kwargs["env"] = kernel_env(kwargs.get("env"))
        return str(await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs))

    def sent_log(self, kernel_id: str, session_key: str, protocol: str | None) -> SentLog | None:
        """The log of what was sent to this kernel + session (a new one for a new session or a
        different protocol); None when resuming is off."""
        if self.resume_buffer_bytes <= 0 or kernel_id not in self:
            return None
        logs = self._sent_logs.setdefault(kernel_id, OrderedDict())
        log = logs.get(session_key)
        if log is None or log.protocol != protocol:
            log = logs[session_key] = SentLog(self.resume_buffer_bytes, protocol)
        logs.move_to_end(session_key)
        while len(logs) > RESUME_MAX_SESSIONS:
            logs.popitem(last=False)
        return log

    def start_watching_activity(self, kernel_id: str) -> None:
        super().start_watching_activity(kernel_id)
        watch_activity(self, kernel_id)  # the same records, without an HMAC of every output

    def tell_running_cells(self, text: str) -> int:
        """Write TEXT into the output of every running cell, to each connected session (the
        guard's spot notice); returns how many cells heard it."""
        told = 0
        for kernel_id, logs in self._sent_logs.items():
            kernel = self._kernels.get(kernel_id)
            parent = getattr(kernel, "cloudlab_running", None)
            if not parent:
                continue
            for log in logs.values():
                connection = log.current()
                if connection is not None and connection._writable():
                    connection.tell_cell(text, parent)
                    told += 1
        return told

    def remove_kernel(self, kernel_id: str) -> Any:
        self._sent_logs.pop(kernel_id, None)
        return super().remove_kernel(kernel_id)

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
            header = _zmq_part(msg_parts, 2)
            if header.get("msg_type") in DROPPABLE:
                if stats["at"] is None:
                    stats["at"] = len(info["buffer"])
                    stats["parent"] = _zmq_part(msg_parts, 3)
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


def server_config(
    offline_buffer_bytes: int = DEFAULT_OFFLINE_BUFFER_BYTES,
    cull_idle_timeout: int = 0,
    cull_interval: int = 300,
    cull_connected: bool = False,
    cull_busy: bool = False,
    ping_interval: int = 10,
    guard: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The machine's server config (JSON-able): these classes, no IOPub rate limit (it drops big
    outputs), websocket pings, and the user's culling settings (0: never cull)."""
    return {
        "ServerApp": {
            "kernel_manager_class": f"{MODULE_NAME}.BufferingKernelManager",
            "kernel_websocket_connection_class": f"{MODULE_NAME}.ResumingConnection",
            # Symlinks out of the home folder are not followed (the laptop shows it as a drive).
            "contents_manager_class": "cloudlab_contents.ConfinedContentsManager",
            # Kernel websockets take their pings from these (ms), not websocket_ping_*. The
            # timeout must exceed the interval: jupyter_server checks for a pong before sending
            # its first ping, so a timeout equal to the interval closed every kernel socket at
            # its first tick (10 s after it opened) however alive the client was.
            "tornado_settings": {
                "ws_ping_interval": ping_interval * 1000,
                "ws_ping_timeout": 2 * ping_interval * 1000,
            },
            # Only when asked: its power-off must never reach a computer that is not the machine
            # (tests and the sandbox run machine servers on the developer's own).
            "jpserver_extensions": {"cloudlab_guard": guard is not None},
        },
        # Idle stop, budget deadline, spot notice (cloudlab_guard): idle_minutes default,
        # power_off_commands, imds_url, tick_seconds, gpu_command.
        "CloudLabGuard": dict(guard or {}),
        "ZMQChannelsWebsocketConnection": {"limit_rate": False},
        "BufferingKernelManager": {"offline_buffer_bytes": offline_buffer_bytes},
        "MappingKernelManager": {
            "cull_idle_timeout": cull_idle_timeout,
            "cull_interval": cull_interval,
            "cull_connected": cull_connected,
            "cull_busy": cull_busy,
        },
    }
