"""What the sandbox needs from a thing that plays EC2 machines on this host.

A machine is a directory (its "disk") that outlives power cycles, like an EBS root volume:

    <root>/<instance_id>/
        home/<ssh_user>/                 the user's home; .ssh/authorized_keys holds the key pair's key
        etc/ssh_host_ed25519_key(.pub)   host key, made at first power-on, kept across stop/start
        console.log                      "console output": host key fingerprints, as cloud-init prints them

Powering on starts an SSH server for it on a new loopback port (a machine gets a new address after
each start, as on EC2). Every process started through that server carries the environment variable
``CLOUDLAB_SANDBOX_MACHINE=<instance_id>``; powering off kills every such process (a power cut).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MACHINE_ENV_MARKER = "CLOUDLAB_SANDBOX_MACHINE"


@dataclass(frozen=True)
class PoweredMachine:
    instance_id: str
    host: str
    """Always a loopback address."""
    port: int
    home: str
    """Absolute path of the SSH user's home on this host."""


class MachineHost(Protocol):
    async def power_on(
        self, instance_id: str, ssh_user: str, authorized_key: str
    ) -> PoweredMachine:
        """Boot the machine (idempotent while it runs) and return where SSH answers."""
        ...

    async def power_off(self, instance_id: str) -> None:
        """Stop its SSH server and kill every process it started. Idempotent."""
        ...

    def destroy(self, instance_id: str) -> None:
        """Delete the machine's disk (after power_off), as terminate does."""
        ...

    async def close(self) -> None:
        """Power off every machine."""
        ...
