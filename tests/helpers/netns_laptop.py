"""The laptop of the link-cut tests: a Python process in namespace B of a veth pair
(``python -m tests.helpers.netns_laptop CONFIG``). It opens our supervised ``Tunnel`` over the
link, starts a kernel through the forward and attaches to it like a browser (our relay does the
same upstream: a fixed session id, reconnecting with it after a drop and resuming after the last
message it got). It reports what it sees as JSON lines, which ``LaptopEvents`` reads in the test.
"""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import asyncssh

LAPTOP = [sys.executable, "-m", "tests.helpers.netns_laptop"]
"""The command that runs the laptop (from the repository's root), before its CONFIG argument."""
STEP_S = 0.5
"""The kernel's counter prints a line every STEP_S seconds."""


def counter(count: int) -> str:
    return (
        f"import time\nfor i in range({count}):\n    print(i, flush=True)\n    time.sleep({STEP_S})"
    )


class LaptopEvents:
    """JSON lines from the laptop process, read by a thread; waits with deadlines."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.seen: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                self._queue.put(json.loads(line))
            except ValueError:
                continue
        self._queue.put(None)

    def wait(self, event: str, timeout: float, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for seen in self.seen:
            if seen["event"] == event and all(seen.get(k) == v for k, v in match.items()):
                return seen
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {event} {match}; seen: {self.seen}"
            try:
                item = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            assert item is not None, f"the laptop process ended; seen: {self.seen}"
            self.seen.append(item)
            assert item["event"] != "error", item
            if item["event"] == event and all(item.get(k) == v for k, v in match.items()):
                return item


def _emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **data}), flush=True)


async def _laptop(config: dict[str, Any]) -> None:
    from tornado.httpclient import HTTPRequest
    from tornado.simple_httpclient import SimpleAsyncHTTPClient
    from tornado.websocket import websocket_connect

    from jupyter_cloudlab.kernels.server_client import SOCKET_HOST, SocketResolver
    from jupyter_cloudlab.ssh.bootstrap import BootstrapOptions, BootstrapResult, bootstrap
    from jupyter_cloudlab.ssh.connection import SSHTarget, connect
    from jupyter_cloudlab.ssh.host_keys import HostKeyStore
    from jupyter_cloudlab.ssh.tunnel import Tunnel
    from tests.helpers.kernel_channel import V1_PROTOCOL, KernelChannel

    key = asyncssh.read_private_key(config["key"])
    store = HostKeyStore(Path(config["host_keys"]))
    target = SSHTarget(config["instance_id"], config["host"], config["port"], config["user"])
    options = BootstrapOptions(python=config["python"], env_roots=())
    machine_servers: list[BootstrapResult] = []
    states = 0

    async def open_session() -> tuple[asyncssh.SSHClientConnection, BootstrapResult]:
        connection = await connect(target, key, store)
        try:
            return connection, await bootstrap(connection, options)
        except BaseException:
            connection.close()
            raise

    tunnel: Tunnel

    def on_state(state: str, machine_server: BootstrapResult | None) -> None:
        nonlocal states
        states += 1
        if machine_server is not None:
            machine_servers.append(machine_server)
        _emit("state", state=state, n=states, socket=tunnel.socket_path)

    tunnel = Tunnel(open_session, on_state, name=config["instance_id"])
    socket_path = await tunnel.open()
    # Requests go to the tunnel's socket, as the kernel layer's do.
    resolver = SocketResolver(path=socket_path)
    client = SimpleAsyncHTTPClient(force_instance=True, resolver=resolver)

    def url(path: str, scheme: str = "http") -> str:
        return f"{scheme}://cloudlab-machine/{path}"

    def headers() -> dict[str, str]:
        return {"Authorization": f"token {machine_servers[-1].token}", "Host": SOCKET_HOST}

    async def fetch(method: str, path: str, body: Any = None) -> Any:
        request = HTTPRequest(
            url(path),
            method=method,
            headers=headers(),
            body=json.dumps(body) if body is not None else None,
            request_timeout=60,
        )
        reply = await client.fetch(request)
        return json.loads(reply.body) if reply.body else None

    session_id = secrets.token_hex(8)
    attempt = 0

    async def open_channel(kernel_id: str, resume_after: str | None = None) -> KernelChannel:
        nonlocal attempt
        params = {"session_id": session_id}
        if resume_after:
            # as the relay does: resend what was written into the dead link after this one
            params["resume_after"] = resume_after
        query = urllib.parse.urlencode(params)
        request = HTTPRequest(
            url(f"api/kernels/{kernel_id}/channels?{query}", "ws"),
            headers=headers(),
            connect_timeout=10,
        )
        channel = KernelChannel(
            await websocket_connect(request, subprotocols=[V1_PROTOCOL], resolver=resolver)
        )
        channel.session.session = session_id  # one browser session, before and after the cut
        attempt += 1
        _emit("ws_open", attempt=attempt)
        return channel

    try:
        await fetch("GET", "api/status")
        _emit("status", after_restore=False)
        kernel = await fetch("POST", "api/kernels", {})
        channel = await open_channel(kernel["id"])
        await channel.execute("1")  # the kernel is ready
        msg_id = await channel.send_execute(counter(config["count"]))
        stdout, reply, idle, reported, printing = "", None, False, attempt, False
        while reply is None or not idle:
            message = await channel.recv()
            if message is None:  # the link died: reconnect with the same session id
                _emit("ws_closed", stdout=stdout)
                last = channel.last_msg_id
                while True:
                    try:
                        channel = await open_channel(kernel["id"], last)
                        break
                    except Exception:
                        await asyncio.sleep(0.1)
                continue
            if reported != attempt:
                reported = attempt
                _emit("ws_message", attempt=attempt)
            if message.parent_msg_id != msg_id:
                continue
            if message.msg_type == "stream" and message.content.get("name") == "stdout":
                stdout += message.content["text"]
                if stdout.count("\n") >= 2 and not printing:
                    printing = True
                    _emit("printing")
            elif message.msg_type == "execute_reply":
                reply = message.content
            elif message.msg_type == "status" and message.content.get("execution_state") == "idle":
                idle = True
        await fetch("GET", "api/status")
        _emit("status", after_restore=True)
        after = await channel.execute("print('after')")
        _emit("done", stdout=stdout, reply=reply["status"], after=after.stdout)
        channel.close()
        await fetch("DELETE", f"api/kernels/{kernel['id']}")
    except Exception as error:
        _emit("error", error=repr(error))
        raise
    finally:
        await tunnel.close()


if __name__ == "__main__":
    asyncio.run(_laptop(json.loads(Path(sys.argv[1]).read_text())))
