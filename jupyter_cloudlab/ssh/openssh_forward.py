"""The tunnel's forward carried by OpenSSH's client, in its own process.

asyncssh decrypts in Python on the local server's event loop, which then also relays the kernel
websockets; OpenSSH's client does the bytes in C on another core. asyncssh keeps the control
connection (bootstrap, keepalive). Checking stays strict: ssh gets the host key asyncssh verified
and pinned, in a known_hosts file of its own under HostKeyAlias=<instance id>, and refuses any
other. A guard process ends ssh when the server that started it ends, even by SIGKILL. ssh listens
on the tunnel's Unix socket (``-L <local socket>:<machine's socket>``, streamlocal forwarding),
0600 in a folder that is ours alone; it unlinks a stale socket there before binding.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from .bootstrap import RemoteEnd
from .connection import KEEPALIVE_COUNT_MAX, KEEPALIVE_INTERVAL_SECONDS, SSHUnreachable
from .tunnel import Forward, StartForward

READY_TIMEOUT_SECONDS = 20
STOP_TIMEOUT_SECONDS = 5
# A pty session makes both ends "interactive", hence TCP_NODELAY: without it every forwarded
# websocket round trip waits on Nagle + delayed ACK (~40 ms). The command just holds the session.
HOLD_SESSION = "exec sleep 2147483647"
# AES-GCM first: one AES-NI/ARMv8-AES pass per packet costs ssh and sshd about half the CPU of the
# default chacha20-poly1305 (measured on a 50 MB output: 0.18 + 0.15 s -> 0.11 + 0.10 s for three).
CIPHERS = ",".join(
    (
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com",
        "aes128-ctr",
        "aes256-ctr",
    )
)


def openssh_client() -> str | None:
    return shutil.which("ssh")


async def _accepts(path: str) -> bool:
    try:
        _, writer = await asyncio.open_unix_connection(path)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _write_known_hosts(folder: Path, instance_id: str, host_key: asyncssh.SSHKey) -> Path:
    """The one key ssh may accept for this machine, under its instance id."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{instance_id}.known_hosts"
    path.write_text(f"{instance_id} {host_key.export_public_key().decode().strip()}\n")
    return path


@dataclass(frozen=True)
class OpenSSHForwarding:
    """How machines' forwards are started with OpenSSH's client (see the module docstring)."""

    ssh: str
    key_file: Path
    known_hosts_dir: Path

    def starter(self, instance_id: str) -> StartForward:
        async def start(
            connection: asyncssh.SSHClientConnection, remote: RemoteEnd, local_path: str
        ) -> Forward:
            return await OpenSSHForward.start(
                self.ssh,
                connection,
                instance_id,
                self.key_file,
                self.known_hosts_dir,
                local_path,
                remote,
            )

        return start


class OpenSSHForward:
    """<local socket> -> the machine server's socket (or loopback port), through `ssh -L`."""

    def __init__(self, process: asyncio.subprocess.Process, local_path: str) -> None:
        self._process = process
        self.local_path = local_path

    @classmethod
    async def start(
        cls,
        ssh: str,
        connection: asyncssh.SSHClientConnection,
        instance_id: str,
        key_file: Path,
        known_hosts_dir: Path,
        local_path: str,
        remote: RemoteEnd,
    ) -> OpenSSHForward:
        host, port = connection.get_extra_info("peername")[:2]
        host_key = connection.get_server_host_key()
        assert host_key is not None, "asyncssh verified a host key before this"
        known_hosts = _write_known_hosts(known_hosts_dir, instance_id, host_key)
        target = remote if isinstance(remote, str) else f"127.0.0.1:{remote}"
        argv = [
            *(sys.executable, "-m", "jupyter_cloudlab.ssh.forward_guard", "--"),
            *(ssh, "-F", os.devnull, "-tt", "-i", str(key_file), "-p", str(port)),
            *("-l", str(connection.get_extra_info("username"))),
            *("-L", f"{local_path}:{target}"),
            *(f"-o{option}" for option in cls._options(instance_id, known_hosts)),
            host,
            HOLD_SESSION,
        ]
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,  # the guard's lifeline: EOF when we are gone
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        forward = cls(process, local_path)
        try:
            await forward._wait_listening()
        except BaseException:
            # It did not start, or the tunnel closed meanwhile: the process must not outlive us.
            forward.close()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(process.wait()), STOP_TIMEOUT_SECONDS)
            raise
        return forward

    @staticmethod
    def _options(instance_id: str, known_hosts: Path) -> list[str]:
        return [
            "BatchMode=yes",
            "StrictHostKeyChecking=yes",
            f"HostKeyAlias={instance_id}",
            f"UserKnownHostsFile={known_hosts}",
            f"GlobalKnownHostsFile={os.devnull}",
            "UpdateHostKeys=no",
            "CheckHostIP=no",
            "IdentitiesOnly=yes",
            "IdentityAgent=none",
            "ExitOnForwardFailure=yes",
            "StreamLocalBindUnlink=yes",
            "StreamLocalBindMask=0177",
            "ClearAllForwardings=no",
            f"ServerAliveInterval={KEEPALIVE_INTERVAL_SECONDS}",
            f"ServerAliveCountMax={KEEPALIVE_COUNT_MAX}",
            "ConnectTimeout=15",
            "LogLevel=ERROR",
            f"Ciphers={CIPHERS}",
        ]

    async def _wait_listening(self) -> None:
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_SECONDS
        while not await _accepts(self.local_path):
            if self._process.returncode is not None or asyncio.get_running_loop().time() > deadline:
                error = await self._stderr_tail()
                raise SSHUnreachable(f"OpenSSH's forward did not start: {error}")
            await asyncio.sleep(0.05)

    async def _stderr_tail(self) -> str:
        assert self._process.stderr is not None
        if self._process.returncode is None:
            return "it did not listen in time"
        data = await self._process.stderr.read()
        return data.decode(errors="replace").strip()[-500:] or f"exit {self._process.returncode}"

    async def wait_closed(self) -> None:
        await self._process.wait()

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()  # the guard's lifeline: it ends ssh on EOF
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
