"""A first connection pins a host key only once the machine's console vouches for it: it waits
(bounded) for cloud-init's fingerprint block, and is refused, saying what to do, when none comes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from jupyter_cloudlab.cloud.aws_client import AwsClient, AwsTarget
from jupyter_cloudlab.cloud.instances import InstanceInfo
from jupyter_cloudlab.data_folder import DataFolder
from jupyter_cloudlab.machines.link import LinkContext, MachineLink
from jupyter_cloudlab.sandbox.sandbox import Sandbox, SandboxNetwork
from jupyter_cloudlab.ssh.host_keys import (
    HostKeyStore,
    HostKeyUnverified,
    console_fingerprints,
    fingerprint,
)
from tests.helpers.sandbox_ec2 import run_our_instance


class LateConsole:
    """The sandbox's network, but the console shows nothing for the first `blank_reads` reads
    (a machine whose cloud-init has not reached its fingerprints yet)."""

    def __init__(self, network: SandboxNetwork, blank_reads: float) -> None:
        self._network = network
        self._blank_reads = blank_reads
        self.reads = 0

    async def ssh_endpoint(self, instance: InstanceInfo) -> tuple[str, int]:
        return await self._network.ssh_endpoint(instance)

    async def console_output(self, instance_id: str) -> str:
        self.reads += 1
        if self.reads <= self._blank_reads:
            return "[    0.000000] Linux version sandbox\ncloud-init: still running\n"
        return await self._network.console_output(instance_id)


class Machine:
    def __init__(self, sandbox: Sandbox, target: AwsTarget, root: Path) -> None:
        self.sandbox = sandbox
        self.target = target
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_keys = HostKeyStore(root / "host_keys.json")
        self.instance_id = ""

    def link(self, network: LateConsole, wait: float, every: float = 0.05) -> MachineLink:
        context = LinkContext(
            ec2=AwsClient(self.target),
            network=network,
            client_key=self.client_key,
            host_keys=self.host_keys,
            remote_python="python3",
        )
        return MachineLink(
            context,
            self.instance_id,
            on_phase=lambda phase: None,
            on_tunnel_state=lambda state, bootstrapped: None,
            console_wait_seconds=wait,
            console_read_every_seconds=every,
        )

    def network(self, blank_reads: float) -> LateConsole:
        assert self.sandbox.network is not None
        return LateConsole(self.sandbox.network, blank_reads)

    def console_fingerprints(self) -> set[str]:
        console = (self.sandbox.machines_dir / self.instance_id / "console.log").read_text()
        return console_fingerprints(console)


@pytest.fixture
async def machine(tmp_path: Path) -> AsyncIterator[Machine]:
    """A sandbox machine of ours, powered on, that nothing has connected to yet."""
    sandbox = Sandbox(DataFolder(tmp_path))
    target = await sandbox.start()
    try:
        made = Machine(sandbox, target, tmp_path)
        public = made.client_key.export_public_key().decode()
        made.instance_id = await run_our_instance(AwsClient(target), public)
        yield made
    finally:
        await sandbox.stop()


async def test_first_connection_waits_for_the_console_then_pins_its_key(
    machine: Machine,
) -> None:
    # Given a machine whose console shows its fingerprints only from the 4th read on
    network = machine.network(blank_reads=3)
    link = machine.link(network, wait=30)

    # When the link connects for the first time
    connection = await link._connect_when_ready()
    connection.close()

    # Then it read the console until the fingerprints were there, and pinned the key they name
    assert network.reads == 4
    pinned = machine.host_keys.pinned(machine.instance_id)
    assert pinned is not None
    assert fingerprint(pinned) in machine.console_fingerprints()

    # And a later connection (key pinned) does not wait for the console at all
    again = machine.network(blank_reads=float("inf"))
    (await machine.link(again, wait=30)._connect_when_ready()).close()
    assert again.reads == 1


async def test_first_connection_is_refused_when_the_console_never_shows_fingerprints(
    machine: Machine,
) -> None:
    # Given a machine whose console never shows its fingerprints
    network = machine.network(blank_reads=float("inf"))
    link = machine.link(network, wait=1.0, every=0.2)

    # When the link tries to connect for the first time
    started = time.monotonic()
    with pytest.raises(HostKeyUnverified) as refused:
        await link._connect_when_ready()

    # Then it gave up at the bound, having read the console every few tenths (not in a loop)
    assert 1.0 <= time.monotonic() - started < 10
    assert 4 <= network.reads <= 8
    # And it pinned nothing, and says what happened and what to do
    assert machine.host_keys.pinned(machine.instance_id) is None
    message = str(refused.value)
    assert "has not shown its SSH host key fingerprints" in message
    assert f"jupyter cloudlab trust-host-key {machine.instance_id} SHA256:" in message

    # And once the user trusts the fingerprints they read on the machine, it connects at once
    machine.host_keys.trust(machine.instance_id, sorted(machine.console_fingerprints()))
    trusted = machine.network(blank_reads=float("inf"))
    (await machine.link(trusted, wait=30)._connect_when_ready()).close()
    assert trusted.reads == 1
    assert machine.host_keys.pinned(machine.instance_id) is not None


async def test_a_sandbox_machine_connects_without_waiting(machine: Machine) -> None:
    # Given a sandbox machine: its console shows the fingerprints from power-on
    network = machine.network(blank_reads=0)

    # When the first connection is made, Then the console is read once, and the key pinned
    (await machine.link(network, wait=30)._connect_when_ready()).close()
    assert network.reads == 1
    assert machine.host_keys.pinned(machine.instance_id) is not None
