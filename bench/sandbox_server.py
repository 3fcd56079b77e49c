"""The bench's servers: a jupyter server's REST API, and a local server with the extension in
sandbox mode (its machine launched, and the machine's own server reached through the forward)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from jupyter_cloudlab.sandbox.machine_disk import free_loopback_port

REPO = Path(__file__).resolve().parent.parent


class Jupyter:
    """A jupyter server's REST API at 127.0.0.1:port."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token

    def request(self, method: str, path: str, body: object = None) -> dict:
        data = (
            json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read() or b"{}")


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
        """(c): the machine's own server at the forward's local port, skipping the relay.

        A bench-only shortcut: the token is read from the sandbox machine's disk (it never leaves
        the local server otherwise) and the port from OpenSSH's `-L` argument (asyncssh's forward
        lives inside the server: then None).
        """
        homes = list((self.dir / "data/cloudlab/sandbox/machines").glob("i-*/home/*/.cloudlab"))
        state = json.loads((homes[0] / "state.json").read_text())
        token = (homes[0] / "token").read_text().strip()
        suffix = f":127.0.0.1:{state['port']}".encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if Path(argv[0].decode(errors="replace")).name != "ssh":
                continue
            for arg in argv:
                if arg.startswith(b"127.0.0.1:") and arg.endswith(suffix):
                    return Jupyter(int(arg.split(b":")[1]), token)
        return None

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
