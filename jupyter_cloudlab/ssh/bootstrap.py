"""Prepare a machine: run remote/bootstrap.sh over SSH and learn where its gateway listens."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from importlib import resources

import asyncssh

BOOTSTRAP_TIMEOUT_SECONDS = 900  # a fresh machine may pip-install jupyter_server
STDERR_TAIL_LINES = 20


class BootstrapFailed(Exception):
    pass


@dataclass(frozen=True)
class RemoteGateway:
    """The machine's jupyter_server: loopback port on the machine and its token (a secret)."""

    port: int
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"RemoteGateway(port={self.port}, token=***)"


def bootstrap_script() -> str:
    return resources.files("jupyter_cloudlab.remote").joinpath("bootstrap.sh").read_text()


async def bootstrap(connection: asyncssh.SSHClientConnection, python: str) -> RemoteGateway:
    """Ensure the gateway runs on the machine (reusing one that does) and return it."""
    try:
        result = await connection.run(
            f"/bin/sh -s -- {shlex.quote(python)}",
            input=bootstrap_script(),
            timeout=BOOTSTRAP_TIMEOUT_SECONDS,
        )
    except asyncssh.Error as error:
        raise BootstrapFailed(f"The bootstrap over SSH failed: {error}") from error
    stdout = str(result.stdout or "")
    if result.exit_status != 0:
        tail = "\n".join(str(result.stderr or "").strip().splitlines()[-STDERR_TAIL_LINES:])
        raise BootstrapFailed(
            f"Setting up the machine failed (exit {result.exit_status}): {tail or 'no output'}"
        )
    for line in stdout.splitlines():
        if line.startswith("CLOUDLAB-GATEWAY "):
            _, port, token = line.split()
            return RemoteGateway(port=int(port), token=token)
    raise BootstrapFailed("The bootstrap finished without saying where the gateway listens.")
