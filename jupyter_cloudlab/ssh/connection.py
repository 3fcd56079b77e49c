"""The one place that opens SSH connections: pinned host keys, keepalive, low latency."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import Any

import asyncssh

from .host_keys import HostKeyChanged, HostKeyStore

# asyncssh gives up on the (count_max + 1)-th unanswered keepalive: a dead link is noticed
# after about interval * (count_max + 1) seconds, ~4 s here.
KEEPALIVE_INTERVAL_SECONDS = 1
KEEPALIVE_COUNT_MAX = 3
CONNECT_TIMEOUT_SECONDS = 15
# A new SYN each second while sshd does not answer: the kernel would resend a pending one only
# 1, 3, 7... s after the first, so a link that comes back would wait up to seconds for it.
SYN_RETRY_SECONDS = 1.0
# AES-GCM first: one OpenSSL AEAD call per packet (AES-NI), where asyncssh's default,
# chacha20-poly1305, makes several Python-level calls; decrypting was a third of the local
# server's CPU in the throughput benchmark. The rest of asyncssh's defaults follow.
# Bigger channel packets mean fewer per-packet costs for large outputs (asyncssh: 32 KiB;
# OpenSSH accepts packets up to 256 KiB), and a window that covers a fast, distant link.
CHANNEL_MAX_PACKET_BYTES = 128 * 1024
CHANNEL_WINDOW_BYTES = 8 * 1024 * 1024
ENCRYPTION_ALGS = [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
]

# asyncssh, like OpenSSH's client, reads ~/.ssh/config and falls back on the user's agent, CA
# bundles and default keys; a machine connection must not take any of it (the agent forwarded to a
# machine that may be compromised, environment variables sent there, a ProxyJump through some
# other host, trust in X.509 CAs). The OpenSSH forward does the same (`-F /dev/null`, `-o`s).
# Each option is explicit: no config file is read, and nothing falls back on a default either.
ISOLATED_FROM_LOCAL_SSH_SETUP: dict[str, Any] = {
    "config": [],  # [] reads no file; () (the default) would read ~/.ssh/config
    "agent_path": None,  # neither SSH_AUTH_SOCK nor IdentityAgent
    "agent_identities": None,
    "agent_forwarding": False,
    "pkcs11_provider": None,
    "x509_trusted_certs": None,  # no ~/.ssh/ca-bundle.crt, and no X.509 host certificates
    "x509_trusted_cert_paths": [],
    "tunnel": None,  # no ProxyJump
    "proxy_command": None,
    "env": None,  # no SetEnv
    "send_env": None,  # no SendEnv
    "x11_forwarding": False,
    "client_host_keysign": False,
    "client_host_keys": None,
    "client_certs": [],
    "public_key_auth": True,  # our client key, and only it
    "password_auth": False,
    "kbdint_auth": False,
    "host_based_auth": False,
    "gss_auth": False,
    "gss_kex": False,
    "gss_delegate_creds": False,
    "preferred_auth": ["publickey"],
    "canonicalize_hostname": False,
}

log = logging.getLogger(__name__)


class SSHUnreachable(Exception):
    """SSH did not answer (yet): the machine may still be booting."""


@dataclass(frozen=True)
class SSHTarget:
    instance_id: str
    host: str
    port: int
    username: str


class _PinningClient(asyncssh.SSHClient):
    def __init__(self, instance_id: str, store: HostKeyStore, console_output: str) -> None:
        self._instance_id = instance_id
        self._store = store
        self._console_output = console_output
        self.refusal: Exception | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        try:
            return self._store.verify(self._instance_id, key, self._console_output)
        except HostKeyChanged as error:
            self.refusal = error
            return False


async def connect(
    target: SSHTarget,
    client_key: asyncssh.SSHKey,
    host_keys: HostKeyStore,
    console_output: str = "",
) -> asyncssh.SSHClientConnection:
    """Connect and authenticate; the host key must match what we trust for this instance."""
    client = _PinningClient(target.instance_id, host_keys, console_output)
    try:
        sock = await _open_tcp(target.host, target.port, CONNECT_TIMEOUT_SECONDS)
        connection, _ = await asyncssh.create_connection(
            lambda: client,
            target.host,
            target.port,
            sock=sock,
            username=target.username,
            client_keys=[client_key],
            # An empty trust list (not None) makes asyncssh ask validate_host_public_key.
            known_hosts=([], [], []),
            **ISOLATED_FROM_LOCAL_SSH_SETUP,
            encryption_algs=ENCRYPTION_ALGS,
            max_pktsize=CHANNEL_MAX_PACKET_BYTES,
            window=CHANNEL_WINDOW_BYTES,
            keepalive_interval=KEEPALIVE_INTERVAL_SECONDS,
            keepalive_count_max=KEEPALIVE_COUNT_MAX,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
    except asyncssh.HostKeyNotVerifiable as error:
        if client.refusal is not None:
            raise client.refusal from error
        raise HostKeyChanged(target.instance_id) from error
    except (OSError, asyncio.TimeoutError, asyncssh.Error) as error:
        raise SSHUnreachable(f"SSH to {target.host}:{target.port} failed: {error}") from error
    await _enable_nodelay(connection)
    return connection


async def _open_tcp(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to sshd, with a fresh SYN every SYN_RETRY_SECONDS until `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    family, kind, proto, _, address = (await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))[
        0
    ]
    while True:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        wait = max(0.0, min(SYN_RETRY_SECONDS, deadline - loop.time()))
        try:
            await asyncio.wait_for(loop.sock_connect(sock, address), wait)
            return sock
        except asyncio.TimeoutError:
            sock.close()
            if loop.time() >= deadline:
                raise
        except BaseException:
            sock.close()
            raise


async def _enable_nodelay(connection: asyncssh.SSHClientConnection) -> None:
    """OpenSSH's sshd turns on TCP_NODELAY only when a session with a pty comes first.

    Without it every forwarded websocket round trip waits ~40 ms on Nagle + delayed ACK.
    """
    try:
        await connection.run("true", term_type="dumb", timeout=10)
    except (asyncssh.Error, OSError, asyncio.TimeoutError) as error:
        log.debug("pty warm-up session failed: %s", error)
