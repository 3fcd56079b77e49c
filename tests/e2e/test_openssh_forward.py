"""The tunnel carried by OpenSSH's client (c.CloudLab.ssh_forward = "openssh"), in a real local
server process on the sandbox with OpenSSH's sshd as the machine: kernels run through it, it
listens on loopback only, and it ends with the server, even one killed with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from jupyter_cloudlab.sandbox.machine_disk import kill_marked
from jupyter_cloudlab.ssh.openssh_forward import OpenSSHForwarding, openssh_client
from tests.helpers.host_processes import processes_with
from tests.helpers.kernel_channel import open_kernel_channel
from tests.helpers.machine_server import MachineServerProcess, start_machine_server_process

READY_TIMEOUT_S = 180


@pytest.fixture
def local_server(
    tmp_path: Path, cloudlab_server_config: dict[str, Any], cloudlab_data_dir: Path
) -> Iterator[tuple[MachineServerProcess, Path]]:
    """A local server process on the sandbox (as every test here), its tunnels carried by
    OpenSSH's client."""
    data_dir = cloudlab_data_dir
    sandbox = cloudlab_server_config["CloudLab"]
    config = {**cloudlab_server_config, "CloudLab": {**sandbox, "ssh_forward": "openssh"}}
    server = start_machine_server_process(tmp_path / "local", config=config)
    yield server, data_dir
    server.stop()
    # A killed server leaves its sandbox machines running: their sshd and what it started.
    for machine in (data_dir / "sandbox" / "machines").glob("i-*"):
        kill_marked(machine.name)
    for pid, _, _ in processes_with(str(data_dir / "sandbox" / "machines")):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _launch_ready(server: MachineServerProcess) -> dict[str, Any]:
    images = server.request("GET", "cloudlab/api/catalog/images")["images"]
    body = {"name": "ssh-box", "instance_type": "t3.medium", "image_id": images[0]["id"]}
    machine = server.request("POST", "cloudlab/api/machines", body)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while machine["state"] != "ready":
        assert machine["state"] != "failed", machine["message"]
        assert time.monotonic() < deadline, machine
        time.sleep(0.3)
        machine = server.request("GET", f"cloudlab/api/machines/{machine['id']}")
    return machine  # type: ignore[no-any-return]


async def test_kernels_run_through_openssh_and_it_ends_with_a_killed_server(
    local_server: tuple[MachineServerProcess, Path],
) -> None:
    server, data_dir = local_server
    key_file = str(data_dir / "id_ed25519")

    # Given a ready machine
    machine = await asyncio.to_thread(_launch_ready, server)

    # Then its forward is OpenSSH's client, listening on loopback only, with strict host keys
    [ssh] = [cmd for _, _, cmd in processes_with(key_file) if "forward_guard" not in cmd]
    assert " -L 127.0.0.1:" in ssh and "StrictHostKeyChecking=yes" in ssh
    assert f"HostKeyAlias={machine['instance_id']}" in ssh

    # And a kernel of the machine runs code through it
    kernel_name = machine["kernelspecs"][0]
    kernel = await server.fetch("POST", "api/kernels", {"name": kernel_name})
    channel = await _channel(server, kernel["id"])
    try:
        result = await channel.execute("print(6 * 7)")
    finally:
        channel.close()
    assert result.stdout.strip() == "42"

    # When the server is killed outright
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=30)

    # Then no forward outlives it
    deadline = time.monotonic() + 15
    while processes_with(key_file):
        assert time.monotonic() < deadline, processes_with(key_file)
        await asyncio.sleep(0.2)


async def _channel(server: MachineServerProcess, kernel_id: str) -> Any:
    """The local server's kernel websocket, as JupyterLab opens it."""

    async def ws_fetch(*path: str, params: dict[str, str], **kwargs: Any) -> Any:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = server.url.replace("http", "ws", 1) + "/" + "/".join(path)
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        request = HTTPRequest(url, headers={"Authorization": f"token {server.token}"})
        return await websocket_connect(request, **kwargs)

    return await open_kernel_channel(ws_fetch, kernel_id, session_id=secrets.token_hex(8))


async def test_a_forward_cancelled_while_starting_leaves_no_process(tmp_path: Path) -> None:
    # Given an "sshd" that accepts connections and never answers (ssh waits for its banner)
    silent = await asyncio.start_server(lambda *_: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    instance_id = f"i-0{secrets.token_hex(8)}"
    host_key = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()

    class Connection:  # what the forward reads of the asyncssh connection that pinned the key
        def get_extra_info(self, name: str) -> Any:
            return {"peername": ("127.0.0.1", port), "username": "ubuntu"}[name]

        def get_server_host_key(self) -> asyncssh.SSHKey:
            return host_key

    ssh = openssh_client()
    assert ssh is not None, "CI installs openssh-client"
    forwarding = OpenSSHForwarding(ssh, tmp_path / "id_ed25519", tmp_path / "known_hosts")
    starting = asyncio.create_task(forwarding.starter(instance_id)(Connection(), 8888, None))
    try:
        # When the tunnel is closed while its forward is still starting
        deadline = time.monotonic() + 10
        while not processes_with(instance_id):
            assert time.monotonic() < deadline, "the forward never started"
            await asyncio.sleep(0.05)
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting

        # Then neither the guard nor ssh is left running
        assert processes_with(instance_id) == []
    finally:
        silent.close()
