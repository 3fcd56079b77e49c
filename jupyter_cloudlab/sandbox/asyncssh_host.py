"""Sandbox machines served by an in-process asyncssh server: nothing to install for the user.

Each powered machine is one asyncssh listener on a fresh loopback port. Commands run as
subprocesses of this Python process, as the current OS user, but with the machine's home, PATH and
marker, so powering off can find and kill them like a power cut would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import tempfile
from pathlib import Path
from typing import Any

import asyncssh

from .machine_disk import MachineDisk, kill_marked, machine_path
from .machine_host import MACHINE_ENV_MARKER, PoweredMachine

KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT_MAX = 3
FORWARDABLE_HOSTS = frozenset({"127.0.0.1", "localhost"})
"""TCP forwards reach the machine's own loopback only. (The OpenSSH host's sshd cannot say so: a
PermitOpen list would refuse the tunnel's stream-local forwards too.)"""
SOCKET_FOLDER_PREFIX = "cloudlab-"
SERVER_SOCKET_NAME = "gateway.sock"
"""A machine whose home is too deep for a socket path keeps its server's socket in a private
folder cloudlab-* of the temporary folder, under this name (machine_side/service.py)."""
ACCEPTED_CLIENT_ENV = ("LANG", "LC_")
"""As Ubuntu's sshd_config ``AcceptEnv LANG LC_*``."""
_CHUNK = 65536


class _Machine:
    """What a powered machine holds: its listener, live connections and session processes."""

    def __init__(self, disk: MachineDisk, ssh_user: str, home: Path, env: dict[str, str]) -> None:
        self.disk = disk
        self.ssh_user = ssh_user
        self.home = home
        self.env = env
        self.acceptor: asyncssh.SSHAcceptor | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.powered: PoweredMachine | None = None


class _MachineServer(asyncssh.SSHServer):
    """Public-key auth against the machine's authorized_keys; loopback-only forwarding."""

    def __init__(self, machine: _Machine) -> None:
        self._machine = machine
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._machine.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._machine.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        # Re-read at each login so keys the user adds on the machine work at once, as with sshd.
        # Any other user name gets no keys at all (not those loaded for an earlier attempt).
        keys_file = self._machine.home / ".ssh" / "authorized_keys"
        if self._conn is not None:
            wanted = username == self._machine.ssh_user and keys_file.exists()
            self._conn.set_authorized_keys(str(keys_file) if wanted else None)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        if dest_host not in FORWARDABLE_HOSTS:
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "open failed: only loopback is allowed"
            )
        return True

    def unix_connection_requested(self, dest_path: str) -> bool:
        """A forward to a Unix socket (the machine server's): only to one of the machine's own,
        in its home or in a private folder the bootstrap made in the temporary folder, never to
        another socket of this host (this server runs in the local server's process)."""
        if not _machine_socket(dest_path, self._machine.home):
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                "open failed: only the machine's own sockets are reachable",
            )
        return True

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        # Like sshd's default GatewayPorts no: remote forwards listen on loopback only.
        return listen_host in FORWARDABLE_HOSTS


def _machine_socket(path: str, home: Path) -> bool:
    """Whether ``path`` is a socket in the machine's home, or a server's socket in a folder of
    this user closed to others named cloudlab-* in the temporary folder (symlinks resolved)."""
    real = Path(os.path.realpath(path))
    if real.is_relative_to(home.resolve()):
        return True
    folder = real.parent
    if real.name != SERVER_SOCKET_NAME or not folder.name.startswith(SOCKET_FOLDER_PREFIX):
        return False
    if str(folder.parent) not in {
        os.path.realpath(tempfile.gettempdir()),
        os.path.realpath("/tmp"),
    }:
        return False
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


class _HomeSFTPServer(asyncssh.SFTPServer):
    """SFTP without a chroot whose relative paths start in the machine home, as with sshd."""

    def __init__(self, chan: asyncssh.SSHServerChannel, home: Path) -> None:
        super().__init__(chan)
        self._home = os.fsencode(home)

    def map_path(self, path: bytes) -> bytes:
        return path if path.startswith(b"/") else os.path.join(self._home, path)


class AsyncsshMachineHost:
    """MachineHost with one in-process asyncssh server per powered machine."""

    def __init__(self, root_dir: Path, python_bin_dir: str | None = None) -> None:
        self.root_dir = Path(root_dir)
        self.python_bin_dir = python_bin_dir
        self._machines: dict[str, _Machine] = {}
        self._lock = asyncio.Lock()

    async def power_on(
        self, instance_id: str, ssh_user: str, authorized_key: str
    ) -> PoweredMachine:
        async with self._lock:
            running = self._machines.get(instance_id)
            if running is not None and running.powered is not None:
                return running.powered
            disk = MachineDisk(self.root_dir, instance_id)
            # Sessions of an earlier run of this process may still hold the marker: power cut.
            await asyncio.to_thread(kill_marked, instance_id)
            home = disk.prepare(ssh_user, authorized_key)
            host_key = disk.ensure_host_key()
            machine = _Machine(disk, ssh_user, home, self._session_env(instance_id, ssh_user, home))
            machine.acceptor = await asyncssh.create_server(
                lambda: _MachineServer(machine),
                "127.0.0.1",
                0,
                server_host_keys=[host_key],
                process_factory=lambda process: self._run_session(machine, process),
                sftp_factory=lambda chan: _HomeSFTPServer(chan, home),
                encoding=None,
                allow_pty=True,
                agent_forwarding=False,
                x11_forwarding=False,
                keepalive_interval=KEEPALIVE_INTERVAL_S,
                keepalive_count_max=KEEPALIVE_COUNT_MAX,
            )
            port = machine.acceptor.sockets[0].getsockname()[1]
            machine.powered = PoweredMachine(instance_id, "127.0.0.1", port, str(home))
            self._machines[instance_id] = machine
            return machine.powered

    async def power_off(self, instance_id: str) -> None:
        async with self._lock:
            machine = self._machines.pop(instance_id, None)
            if machine is not None and machine.acceptor is not None:
                machine.acceptor.close()
                for conn in list(machine.connections):
                    conn.abort()
                await machine.acceptor.wait_closed()
            # Even with no record (e.g. after a restart of this process), leftovers must die.
            await asyncio.to_thread(kill_marked, instance_id)

    def destroy(self, instance_id: str) -> None:
        if instance_id in self._machines:
            raise RuntimeError(f"{instance_id} is still powered on")
        MachineDisk(self.root_dir, instance_id).destroy()

    async def close(self) -> None:
        for instance_id in list(self._machines):
            await self.power_off(instance_id)

    def console_output(self, instance_id: str) -> str:
        return MachineDisk(self.root_dir, instance_id).console_output()

    def _session_env(self, instance_id: str, ssh_user: str, home: Path) -> dict[str, str]:
        return {
            "HOME": str(home),
            "USER": ssh_user,
            "LOGNAME": ssh_user,
            "SHELL": "/bin/sh",
            "PATH": machine_path(self.python_bin_dir),
            MACHINE_ENV_MARKER: instance_id,
        }

    async def _run_session(self, machine: _Machine, process: asyncssh.SSHServerProcess) -> None:
        """Run one exec/shell request: relay the streams, then the exit status.

        The pty, if asked for, is not emulated (clients here ask for one only to get TCP_NODELAY),
        but a lost client is handled as sshd does (checked on 9.2): with a pty the command's
        process group gets SIGHUP; without one only its pipes close, so it lives on until it
        writes. Detached (setsid) processes are in another session and are untouched either way.
        """
        env = dict(machine.env)
        env.update({k: v for k, v in process.env.items() if k == "LANG" or k.startswith("LC_")})
        if process.term_type:
            env["TERM"] = process.term_type
        command = process.command
        argv = ["/bin/sh", "-c", command] if command is not None else ["/bin/sh"]
        if command is None and process.term_type:
            argv.append("-i")
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=out_w,
                stderr=err_w,
                cwd=machine.home,
                env=env,
                start_new_session=True,
            )
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        stdout, out_pipe = await _pipe_reader(out_r)
        stderr, err_pipe = await _pipe_reader(err_r)
        feeder = asyncio.create_task(_feed_stdin(process, proc))
        finished: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.gather(
                _relay(stdout, process.stdout), _relay(stderr, process.stderr), proc.wait()
            )
        )
        hung_up: asyncio.Future[Any] = asyncio.ensure_future(process.channel.wait_closed())
        try:
            await asyncio.wait({finished, hung_up}, return_when=asyncio.FIRST_COMPLETED)
            if finished.done() and finished.exception() is None:
                returncode = proc.returncode if proc.returncode is not None else 255
                with contextlib.suppress(OSError, asyncssh.Error):  # client gone meanwhile
                    if returncode < 0:
                        process.exit_with_signal(signal.Signals(-returncode).name[3:])
                    else:
                        process.exit(returncode)
            elif process.term_type:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGHUP)
        finally:
            for task in (feeder, finished, hung_up):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await finished
            # Closing the read ends is what makes a command that keeps writing get SIGPIPE.
            out_pipe.close()
            err_pipe.close()
            if proc.stdin is not None:
                proc.stdin.close()


async def _pipe_reader(fd: int) -> tuple[asyncio.StreamReader, asyncio.BaseTransport]:
    """A StreamReader on a pipe's read end, with the transport that closes it."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_CHUNK)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader, transport


async def _relay(source: asyncio.StreamReader, target: asyncssh.SSHWriter) -> None:
    """Copy a pipe to the channel until EOF; a closed channel ends the copy."""
    while data := await source.read(_CHUNK):
        target.write(data)
        await target.drain()


async def _feed_stdin(process: asyncssh.SSHServerProcess, proc: asyncio.subprocess.Process) -> None:
    """Copy the channel to the command's stdin; EOF from the client closes it."""
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionError, asyncssh.Error):
        while data := await process.stdin.read(_CHUNK):
            proc.stdin.write(data)
            await proc.stdin.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionError):
        proc.stdin.close()
