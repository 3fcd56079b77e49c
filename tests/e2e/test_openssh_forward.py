"""The tunnel carried by OpenSSH's client (c.CloudLab.ssh_forward = "openssh"), in a real local
server process on the sandbox with OpenSSH's sshd as the machine: kernels run through it, it
listens on a Unix socket in a private folder (no TCP port), and it ends with the server, even one
killed with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from jupyter_cloudlab.sandbox.machine_disk import MachineDisk, kill_marked
from jupyter_cloudlab.ssh.local_socket import remove_folder
from jupyter_cloudlab.ssh.openssh_forward import OpenSSHForwarding, openssh_client
from tests.helpers.host_processes import processes_with, tcp_listeners, unix_listeners
from tests.helpers.kernel_channel import open_kernel_channel
from tests.helpers.machine_server import MachineServerProcess, start_machine_server_process

READY_TIMEOUT_S = 180


@pytest.fixture
def local_server(
    tmp_path: Path, cloudlab_server_config: dict[str, Any], cloudlab_data_dir: Path
) -> Iterator[tuple[MachineServerProcess, Path, list[Path]]]:
    """A local server process on the sandbox (as every test here), its tunnels carried by
    OpenSSH's client."""
    data_dir = cloudlab_data_dir
    sandbox = cloudlab_server_config["CloudLab"]
    config = {**cloudlab_server_config, "CloudLab": {**sandbox, "ssh_forward": "openssh"}}
    server = start_machine_server_process(tmp_path / "local", config=config)
    tunnel_folders: list[Path] = []
    yield server, data_dir, tunnel_folders
    server.stop()
    # A killed server leaves its sandbox machines running: their sshd and what it started, and
    # the folders of its tunnels' and its machine servers' sockets.
    for machine in (data_dir / "sandbox" / "machines").glob("i-*"):
        kill_marked(machine.name)
        for folder in MachineDisk(machine.parent, machine.name).server_socket_folders():
            remove_folder(folder)
    for folder in tunnel_folders:
        remove_folder(folder)
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
    local_server: tuple[MachineServerProcess, Path, list[Path]],
) -> None:
    server, data_dir, tunnel_folders = local_server
    key_file = str(data_dir / "id_ed25519")

    # Given a ready machine
    machine = await asyncio.to_thread(_launch_ready, server)

    # Then its forward is OpenSSH's client, with strict host keys, from a Unix socket in a
    # folder only this user may enter to the machine server's socket, and on no TCP port
    [(pid, ssh)] = [
        (p, cmd) for p, _, cmd in processes_with(key_file) if "forward_guard" not in cmd
    ]
    assert "StrictHostKeyChecking=yes" in ssh
    assert f"HostKeyAlias={machine['instance_id']}" in ssh
    forward = ssh.split(" -L ", 1)[1].split(" ", 1)[0]
    local, remote = forward.split(":")
    tunnel_folders.append(Path(local).parent)
    assert local.endswith(f"/{machine['instance_id']}.sock") and remote.endswith("/gateway.sock")
    assert stat.S_IMODE(os.lstat(Path(local).parent).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(local).st_mode) == 0o600
    assert unix_listeners(pid) == {local} and tcp_listeners(pid) == set()

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
    local = str(tmp_path / "forward.sock")
    starting = asyncio.create_task(
        forwarding.starter(instance_id)(Connection(), "/m/gateway.sock", local)
    )
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
