"""Both sandbox machine hosts keep the MachineHost contract the way an EC2 machine would."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from jupyter_cloudlab.pytest_plugin import cloudlab_require_openssh
from jupyter_cloudlab.sandbox.asyncssh_host import AsyncsshMachineHost, _machine_socket
from jupyter_cloudlab.sandbox.machine_disk import KEYS_BEGIN, KEYS_END, marked_pids
from jupyter_cloudlab.sandbox.machine_host import MACHINE_ENV_MARKER, PoweredMachine
from jupyter_cloudlab.sandbox.openssh_host import OpenSSHMachineHost
from jupyter_cloudlab.ssh.local_socket import private_folder, remove_folder

USER = "ubuntu"
INSTANCE = "i-0123456789abcdef0"
PYBIN = "/opt/sandbox-python/bin"


def _openssh_host(root: Path) -> OpenSSHMachineHost:
    cloudlab_require_openssh()
    return OpenSSHMachineHost(root, python_bin_dir=PYBIN)


AnyHost = AsyncsshMachineHost | OpenSSHMachineHost
HOSTS: dict[str, Callable[[Path], AnyHost]] = {
    "asyncssh": lambda root: AsyncsshMachineHost(root, python_bin_dir=PYBIN),
    "openssh": _openssh_host,
}


@pytest.fixture(params=sorted(HOSTS))
async def host(request, tmp_path: Path) -> AsyncIterator[AnyHost]:
    machine_host = HOSTS[request.param](tmp_path / "machines")
    yield machine_host
    await machine_host.close()


@pytest.fixture(scope="module")
def user_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


def _known_hosts(console: str, machine: PoweredMachine) -> asyncssh.SSHKnownHosts:
    """Pin the host key printed in the console output, as the real client does."""
    lines = console.splitlines()
    key_lines = lines[lines.index(KEYS_BEGIN) + 1 : lines.index(KEYS_END)]
    assert len(key_lines) == 1
    key_type, key_b64 = key_lines[0].split()[:2]
    return asyncssh.import_known_hosts(f"[{machine.host}]:{machine.port} {key_type} {key_b64}\n")


async def _connect(
    host: AnyHost, machine: PoweredMachine, key: asyncssh.SSHKey, username: str = USER
) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        machine.host,
        machine.port,
        username=username,
        client_keys=[key],
        known_hosts=_known_hosts(host.console_output(machine.instance_id), machine),
        agent_path=None,
        config=[],
    )


def _alive(pid: int) -> bool:
    """Running, not merely an unreaped zombie (this container's init may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def _sleepers() -> list[int]:
    return [
        pid
        for pid in marked_pids(INSTANCE)
        if b"sleep" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


async def _echo_server(path: str | None = None) -> asyncio.Server:
    """An echo server on a loopback port, or on the Unix socket ``path``."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
        writer.close()

    if path is not None:
        return await asyncio.start_unix_server(echo, path)
    return await asyncio.start_server(echo, "127.0.0.1", 0)


async def _echo_through(reader: Any, writer: Any) -> None:
    writer.write(b"through the tunnel")
    assert await asyncio.wait_for(reader.readexactly(18), 5) == b"through the tunnel"
    writer.close()


async def _port_answers(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def test_machine_lifecycle(host: AnyHost, user_key: asyncssh.SSHKey, tmp_path: Path) -> None:
    # Given a powered machine whose host key is known only from its console output
    public = user_key.export_public_key().decode().strip()
    machine = await host.power_on(INSTANCE, USER, public)
    home = tmp_path / "machines" / INSTANCE / "home" / USER
    assert machine.home == str(home)
    assert machine.host == "127.0.0.1"
    console = host.console_output(INSTANCE)
    assert f"root@{INSTANCE} (ED25519)" in console
    assert await host.power_on(INSTANCE, USER, public) == machine  # idempotent while running

    async with await _connect(host, machine, user_key) as conn:
        # When asking where we are, Then it is the machine home, with the machine's PATH
        result = await conn.run(
            'echo $HOME; pwd; echo "$PATH"; echo "$' + MACHINE_ENV_MARKER + '"', check=True
        )
        assert str(result.stdout).splitlines() == [
            str(home),
            str(home),
            f"{PYBIN}:/usr/local/bin:/usr/bin:/bin",
            INSTANCE,
        ]
        # And exit status and stderr come back
        failed = await conn.run("echo oops >&2; exit 3")
        assert (failed.exit_status, failed.stderr) == (3, "oops\n")
        # And stdin reaches the command
        assert (await conn.run("cat", input="ping\n")).stdout == "ping\n"

        # When a process is detached the documented way
        await conn.run(
            "setsid nohup sleep 300 >/dev/null 2>&1 </dev/null & echo started", check=True
        )

        # And SFTP starts in the home
        async with conn.start_sftp_client() as sftp:
            assert await sftp.realpath(".") == str(home)
            async with sftp.open("hello.txt", "w") as f:
                await f.write("hi")
        assert (home / "hello.txt").read_text() == "hi"

        # And a local forward reaches a Unix socket of the machine (as the tunnel reaches the
        # machine server's, here in the private folder of a home too deep for sun_path)
        machine_folder, local_folder = private_folder("gateway.sock"), private_folder("s.sock")
        echo = await _echo_server(str(machine_folder / "gateway.sock"))
        try:
            local = str(local_folder / "s.sock")
            listener = await conn.forward_local_path(local, str(machine_folder / "gateway.sock"))
            await _echo_through(*await asyncio.open_unix_connection(local))
            listener.close()
        finally:
            echo.close()
            remove_folder(machine_folder)
            remove_folder(local_folder)

        if isinstance(host, AsyncsshMachineHost):
            # And (the in-process server's own policy) a loopback port, but no other address,
            # nor a socket outside the machine's home and its private folders
            echo = await _echo_server()
            echo_port = echo.sockets[0].getsockname()[1]
            try:
                await _echo_through(*await conn.open_connection("127.0.0.1", echo_port))
            finally:
                echo.close()
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_connection("192.0.2.1", 80)
            outside = await _echo_server(str(tmp_path / "laptop.sock"))
            try:
                with pytest.raises(asyncssh.ChannelOpenError):
                    await conn.open_unix_connection(str(tmp_path / "laptop.sock"))
            finally:
                outside.close()

    # Then the detached process outlives the connection
    await asyncio.sleep(0.3)
    sleepers = _sleepers()
    assert len(sleepers) == 1 and _alive(sleepers[0])

    # When the machine is powered off, Then the process dies and the port stops answering
    await host.power_off(INSTANCE)
    assert not _alive(sleepers[0])
    assert not marked_pids(INSTANCE)
    assert not await _port_answers(machine.port)
    await host.power_off(INSTANCE)  # idempotent

    # When powered on again, Then the disk and the host key are the same
    again = await host.power_on(INSTANCE, USER, public)
    assert host.console_output(INSTANCE) == console
    assert (home / "hello.txt").exists()
    async with await _connect(host, again, user_key) as conn:
        assert (await conn.run("pwd", check=True)).stdout == f"{home}\n"
    await host.power_off(INSTANCE)

    # When destroyed, Then the disk is gone
    host.destroy(INSTANCE)
    assert not (tmp_path / "machines" / INSTANCE).exists()


async def test_unknown_key_is_refused(host: AnyHost, user_key: asyncssh.SSHKey) -> None:
    # Given a machine that knows only user_key
    machine = await host.power_on(INSTANCE, USER, user_key.export_public_key().decode())
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    # When another key tries, Then it is refused
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(host, machine, stranger)
    # And the right key for another user name is refused too
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(host, machine, user_key, username="root")


async def test_pty_and_login_shell(host: AnyHost, user_key: asyncssh.SSHKey) -> None:
    # Given a machine and a client that asks for a pty (as the project's client does for
    # TCP_NODELAY)
    machine = await host.power_on(INSTANCE, USER, user_key.export_public_key().decode())
    async with await _connect(host, machine, user_key) as conn:
        # When it runs a command, Then the output arrives (line ends may be pty-style)
        result = await conn.run("echo hi", term_type="xterm", check=True)
        assert str(result.stdout).strip() == "hi"
        # When it opens a shell with no command, Then the shell runs commands from stdin
        shell = await conn.create_process()
        shell.stdin.write("echo $HOME\nexit 4\n")
        done = await asyncio.wait_for(shell.wait(), 10)
        assert str(done.stdout).strip().endswith(f"/{INSTANCE}/home/{USER}")
        assert done.exit_status == 4


def test_the_in_process_server_forwards_only_to_the_machines_own_sockets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    folder = private_folder("gateway.sock")
    shared = Path(tempfile.mkdtemp(prefix="cloudlab-"))
    shared.chmod(0o755)
    try:
        # A socket in the machine's home, or in a private cloudlab-* folder in /tmp: reachable
        assert _machine_socket(str(home / ".cloudlab" / "gateway.sock"), home)
        assert _machine_socket(str(folder / "gateway.sock"), home)
        # Anything else on this host: not (one of the laptop's, a tunnel's local end, one in a
        # folder others may enter, one reached through a symlink out of the home)
        assert not _machine_socket(str(tmp_path / "laptop.sock"), home)
        assert not _machine_socket(str(folder / "i-0123456789abcdef0.sock"), home)
        assert not _machine_socket("/run/docker.sock", home)
        assert not _machine_socket(str(shared / "gateway.sock"), home)
        (home / "out").symlink_to(tmp_path)
        assert not _machine_socket(str(home / "out" / "laptop.sock"), home)
    finally:
        remove_folder(folder)
        shared.rmdir()
