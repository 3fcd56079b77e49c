"""Test helpers: a real "machine" server (a jupyter_server subprocess in its own HOME and Jupyter
dirs), plain or configured as the bootstrap configures a machine's.

Kept free of fixtures so any test module can use them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_cloudlab.machine_side import cloudlab_server
from jupyter_cloudlab.sandbox.machine_disk import free_loopback_port
from tests.helpers.kernel_channel import V1_PROTOCOL, KernelChannel

# Generous: CI runners with 2 slow cores take several seconds to start a server or a kernel.
SERVER_START_TIMEOUT = 120.0

# Extensions a plain environment may enable; the machine's server needs none of them.
_EXTENSIONS_OFF = {
    "jupyter_cloudlab": False,
    "jupyterlab": False,
    "jupyter_lsp": False,
    "notebook_shim": False,
    "notebook": False,
    "jupyter_server_terminals": False,
}


@dataclass
class MachineServerProcess:
    """A headless jupyter_server in its own process, HOME and Jupyter dirs: "the machine"."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    home: Path
    log_path: Path

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        """Blocking JSON request (for fixtures and teardown, outside the event loop)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}/{path.lstrip('/')}",
            data=data if data is not None else (b"" if method == "POST" else None),
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    async def fetch(self, method: str, path: str, body: Any = None) -> Any:
        """Non-blocking JSON request (inside async tests, beside the local server)."""
        req = HTTPRequest(
            f"{self.url}/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            body=json.dumps(body) if body is not None else (b"" if method == "POST" else None),
            request_timeout=60,
        )
        resp = await AsyncHTTPClient().fetch(req)
        return json.loads(resp.body) if resp.body else None

    async def open_channel(
        self, kernel_id: str, session_id: str, resume_after: str | None = None, v1: bool = True
    ) -> KernelChannel:
        """Connect straight to the machine's kernel websocket, bypassing the local server, like
        JupyterLab 4 (v1) or older (legacy)."""
        url = self.url.replace("http", "ws", 1)
        query = f"session_id={session_id}"
        if resume_after:
            query += f"&resume_after={resume_after}"
        req = HTTPRequest(
            f"{url}/api/kernels/{kernel_id}/channels?{query}",
            headers={"Authorization": f"token {self.token}"},
            connect_timeout=60,
        )
        return KernelChannel(
            await websocket_connect(req, subprotocols=[V1_PROTOCOL] if v1 else None)
        )

    def delete_all_kernels(self) -> None:
        for kernel in self.request("GET", "api/kernels"):
            with contextlib.suppress(urllib.error.HTTPError):  # went away meanwhile
                self.request("DELETE", f"api/kernels/{kernel['id']}", timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def start_machine_server_process(
    root: Path,
    timeout: float = SERVER_START_TIMEOUT,
    config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> MachineServerProcess:
    """Start a jupyter_server on 127.0.0.1 with a random token; wait until /api/status answers.

    ``config`` is merged into the server's config file (its jpserver_extensions too): the
    restart tests run a LOCAL mixing server this way, as a process they can kill.
    """
    home = root / "home"
    for sub in ("home", "config", "data", "runtime"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # The user config dir has the last word, so this turns off extensions enabled elsewhere.
    server_config: dict[str, Any] = dict(config or {})
    server_app = dict(server_config.get("ServerApp", {}))
    server_app["jpserver_extensions"] = {
        **_EXTENSIONS_OFF,
        **server_app.get("jpserver_extensions", {}),
    }
    server_config["ServerApp"] = server_app
    (root / "config" / "jupyter_server_config.json").write_text(json.dumps(server_config))
    token = secrets.token_hex(16)
    port = free_loopback_port()
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_DATA_DIR": str(root / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        # Kernelspecs say "python": the one of this environment.
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        **(env or {}),
    }
    log_path = root / "server.log"
    args = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True",  # CI containers run as root
        f"--ServerApp.root_dir={home}",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    server = MachineServerProcess(process, f"http://127.0.0.1:{port}", token, home, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"remote server exited:\n{log_path.read_text()}")
        try:
            server.request("GET", "api/status", timeout=5)
            return server
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                server.stop()
                raise TimeoutError(f"remote server not up:\n{log_path.read_text()}") from None
            time.sleep(0.2)


def start_machine_server(
    root: Path, resume_buffer_bytes: int | None = None, **settings: Any
) -> MachineServerProcess:
    """A server configured as the bootstrap configures the machine's: our machine server modules and
    ``server_config(**settings)`` (and this bound of the resend log, when given)."""
    config = cloudlab_server.server_config(**settings)
    if resume_buffer_bytes is not None:
        config["BufferingKernelManager"]["resume_buffer_bytes"] = resume_buffer_bytes
    module_dir = str(Path(cloudlab_server.__file__).parent)
    return start_machine_server_process(root, config=config, env={"PYTHONPATH": module_dir})
