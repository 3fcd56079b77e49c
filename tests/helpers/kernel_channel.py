"""A kernel websocket client as a frontend uses one, in the v1 or the legacy protocol, and
`until`, a bounded poll for what the tests await.

Kept free of fixtures so any test module can use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from tornado.websocket import WebSocketClientConnection

from jupyter_cloudlab.kernels.relay.kernel_frames import frame_msg_id

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
# Waits are generous: CI runners with 2 slow cores take several seconds to answer.
MESSAGE_TIMEOUT = 120.0


@dataclass
class KernelMessage:
    channel: str
    msg_type: str
    parent_msg_id: str | None
    content: dict[str, Any]


@dataclass
class ExecuteResult:
    stdout: str
    reply: dict[str, Any]
    messages: list[KernelMessage] = field(default_factory=list)


class KernelChannel:
    """A kernel websocket as a frontend uses it, in whichever protocol the server selected."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws = ws
        self.protocol = ws.selected_subprotocol
        self.session = Session(username="test")
        self.last_msg_id: str | None = None
        """The msg_id of the last frame received (what a reconnect resumes after)."""

    async def send(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        msg = self.session.msg(msg_type, content)
        if self.protocol == V1_PROTOCOL:
            parts = [
                json.dumps(msg[key], default=json_default).encode()
                for key in ("header", "parent_header", "metadata", "content")
            ]
            await self.ws.write_message(serialize_msg_to_ws_v1(parts, channel), binary=True)
        else:
            frame = {**msg, "channel": channel, "buffers": []}
            await self.ws.write_message(json.dumps(frame, default=json_default))
        return str(msg["header"]["msg_id"])

    async def recv(self, timeout: float = MESSAGE_TIMEOUT) -> KernelMessage | None:
        """The next message, or None when the server closed the socket."""
        frame = await asyncio.wait_for(self.ws.read_message(), timeout)
        if frame is None:
            return None
        self.last_msg_id = frame_msg_id(frame, self.protocol) or self.last_msg_id
        if self.protocol == V1_PROTOCOL:
            assert isinstance(frame, bytes), f"v1 frames are binary, not {frame[:300]!r}"
            channel, parts = deserialize_msg_from_ws_v1(frame)
            header, parent, _metadata, content = (json.loads(p) for p in parts[:4])
        else:
            msg = (
                deserialize_binary_message(frame) if isinstance(frame, bytes) else json.loads(frame)
            )
            channel, header, parent, content = (
                msg["channel"],
                msg["header"],
                msg["parent_header"],
                msg["content"],
            )
        return KernelMessage(channel, header["msg_type"], (parent or {}).get("msg_id"), content)

    async def execute(self, code: str, timeout: float = MESSAGE_TIMEOUT) -> ExecuteResult:
        msg_id = await self.send_execute(code)
        return await self.collect(msg_id, timeout)

    async def send_execute(self, code: str) -> str:
        content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
        return await self.send("shell", "execute_request", content)

    async def id_of(self, msg_id: str, msg_type: str) -> str:
        """Read up to the ``msg_type`` message of request ``msg_id``; its own msg_id (a resume
        point)."""
        while True:
            message = await self.recv()
            assert message is not None, "the socket closed"
            if message.msg_type == msg_type and message.parent_msg_id == msg_id:
                assert self.last_msg_id is not None
                return self.last_msg_id

    async def wait_for_stdout(
        self, msg_id: str, text: str, timeout: float = MESSAGE_TIMEOUT
    ) -> None:
        """Read until the execution ``msg_id`` has printed ``text``."""
        out = ""
        deadline = asyncio.get_running_loop().time() + timeout
        while text not in out:
            msg = await self.recv(deadline - asyncio.get_running_loop().time())
            assert msg is not None, "socket closed while waiting for output"
            if msg.parent_msg_id == msg_id and msg.msg_type == "stream":
                out += msg.content.get("text", "")

    async def collect(self, msg_id: str, timeout: float = MESSAGE_TIMEOUT) -> ExecuteResult:
        """Read until the execution's reply and its idle status; gather its stdout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        stdout, reply, idle = "", None, False
        messages: list[KernelMessage] = []
        while reply is None or not idle:
            msg = await self.recv(deadline - loop.time())
            assert msg is not None, "socket closed before the execution finished"
            if msg.parent_msg_id != msg_id:
                continue
            messages.append(msg)
            if msg.msg_type == "stream" and msg.content.get("name") == "stdout":
                stdout += msg.content.get("text", "")
            elif msg.msg_type == "execute_reply":
                reply = msg.content
            elif msg.msg_type == "status" and msg.content.get("execution_state") == "idle":
                idle = True
        return ExecuteResult(stdout, reply, messages)

    async def wait_answering(self, timeout: float = MESSAGE_TIMEOUT) -> None:
        """Ask kernel_info every 2 s until answered, as JupyterLab does after a restart (a
        request sent while the kernel's sockets reconnect can be lost by jupyter_server)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        probes: set[str] = set()
        while loop.time() < deadline:
            probes.add(await self.send("shell", "kernel_info_request", {}))
            probe_end = min(deadline, loop.time() + 2)
            with contextlib.suppress(asyncio.TimeoutError):
                while True:
                    msg = await self.recv(max(0.0, probe_end - loop.time()))
                    assert msg is not None, "socket closed while the kernel restarted"
                    if msg.msg_type == "kernel_info_reply" and msg.parent_msg_id in probes:
                        return
        raise AssertionError("the kernel never answered kernel_info after its restart")

    async def wait_closed(self, timeout: float = MESSAGE_TIMEOUT) -> None:
        """Drain until the server closes the socket."""
        while await self.recv(timeout) is not None:
            pass

    def close(self) -> None:
        self.ws.close()


async def until(predicate: Callable[[], bool], what: str, timeout: float = MESSAGE_TIMEOUT) -> None:
    """Poll ``predicate`` every 50 ms; fail saying ``what`` was awaited when it stays false."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def open_kernel_channel(
    jp_ws_fetch: Any,
    kernel_id: str,
    *,
    v1: bool = True,
    session_id: str | None = None,
    max_message_size: int | None = None,
) -> KernelChannel:
    """Open a kernel's channels on the local server like JupyterLab 4 (v1) or older (legacy).
    ``max_message_size``: past tornado's 10 MiB default, as a browser has no such limit."""
    params = {"session_id": session_id or secrets.token_hex(8)}
    kwargs: dict[str, Any] = {"subprotocols": [V1_PROTOCOL]} if v1 else {}
    if max_message_size is not None:
        kwargs["max_message_size"] = max_message_size
    ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels", params=params, **kwargs)
    return KernelChannel(ws)


async def run_in_new_kernel(jp_fetch: Any, jp_ws_fetch: Any, kernel_name: str, code: str) -> str:
    """Start a kernel through the local server's REST API, run `code` there; its stdout."""
    reply = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": kernel_name}))
    kernel = json.loads(reply.body)
    channel = await open_kernel_channel(jp_ws_fetch, kernel["id"])
    try:
        result = await channel.execute(code, timeout=60)
    finally:
        channel.close()
    assert result.reply["status"] == "ok", result.reply
    return str(result.stdout).strip()
