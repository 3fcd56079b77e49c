"""The bench's servers: a jupyter server's REST API, and a local server with the extension in
sandbox mode (its machine launched, and the machine's own server reached through the forward)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_cloudlab.sandbox.machine_disk import free_loopback_port

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.helpers.ssh_machines import UnixHTTPConnection

REPO = Path(__file__).resolve().parent.parent


class Jupyter:
    """A jupyter server's REST API at 127.0.0.1:port, or on the Unix socket ``socket_path``."""

    def __init__(self, port: int, token: str, socket_path: str | None = None) -> None:
        self.port = port
        self.token = token
        self.socket_path = socket_path

    def request(self, method: str, path: str, body: object = None) -> dict:
        data = (
            json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        )
        if self.socket_path is not None:
            connection: http.client.HTTPConnection = UnixHTTPConnection(self.socket_path)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            # A machine server answers only a loopback Host (its check against DNS rebinding).
            headers = {"Authorization": f"token {self.token}", "Host": "localhost"}
            connection.request(method, f"/{path}", body=data, headers=headers)
            reply = connection.getresponse()
            content = reply.read()
        finally:
            connection.close()
        if reply.status >= 400:
            raise OSError(f"{method} /{path}: HTTP {reply.status}")
        return json.loads(content or b"{}")

    def connect_socket(self) -> socket.socket:
        """A connected stream socket to this server (for a websocket client)."""
        if self.socket_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.socket_path)
        else:
            sock = socket.create_connection(("127.0.0.1", self.port))
            # The client sets TCP_NODELAY itself so it measures the system, not its own Nagle.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


class Server(Jupyter):
    """A local jupyter server with the extension, in sandbox mode, in a throwaway data dir."""

    def __init__(self, sshd: str, forward: str) -> None:
        super().__init__(free_loopback_port(), uuid.uuid4().hex)
        self.dir = Path(tempfile.mkdtemp(prefix="cloudlab-bench-"))
        env = {**os.environ, "JUPYTER_DATA_DIR": str(self.dir / "data")}
        args = [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.dir}",
            "--ServerApp.open_browser=False",
            "--ServerApp.allow_root=True",
            "--CloudLab.mode=sandbox",
            f"--CloudLab.sandbox_ssh_server={sshd}",
            f"--CloudLab.ssh_forward={forward}",
            "--ServerApp.jpserver_extensions=jupyter_cloudlab=True",
        ]
        self.log = open(self.dir / "server.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(args, env=env, cwd=REPO, stdout=self.log, stderr=self.log)
        self._wait(lambda: self.request("GET", "cloudlab/api/status"), 60)

    @staticmethod
    def _wait(probe, timeout: float) -> object:
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = probe()
                if result:
                    return result
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("gave up waiting")
            time.sleep(0.3)

    def launch_machine(self) -> dict:
        image = self.request("GET", "cloudlab/api/catalog/images")["images"][0]
        machine = self.request(
            "POST",
            "cloudlab/api/machines",
            {"name": "bench", "instance_type": "g5.xlarge", "image_id": image["id"]},
        )

        def ready() -> dict | None:
            current = self.request("GET", f"cloudlab/api/machines/{machine['id']}")
            if current["state"] == "failed":
                raise RuntimeError(current["message"])
            return current if current["state"] == "ready" else None

        return self._wait(ready, 180)  # type: ignore[return-value]

    def machine_server_through_forward(self) -> Jupyter | None:
        """(c): the machine's own server at the forward's local socket, skipping the relay.

        A bench-only shortcut: the token is read from the sandbox machine's disk (it never leaves
        the local server otherwise) and the socket from OpenSSH's `-L <local>:<machine's>`
        argument (asyncssh's forward lives inside the server: then None).
        """
        homes = list((self.dir / "data/cloudlab/sandbox/machines").glob("i-*/home/*/.cloudlab"))
        state = json.loads((homes[0] / "state.json").read_text())
        token = (homes[0] / "token").read_text().strip()
        suffix = f":{state['socket']}".encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if Path(argv[0].decode(errors="replace")).name != "ssh":
                continue
            for arg in argv:
                if arg.startswith(b"/") and arg.endswith(suffix):
                    return Jupyter(0, token, arg[: -len(suffix)].decode())
        return None

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
