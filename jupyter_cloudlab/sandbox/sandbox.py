"""The embedded sandbox: moto's EC2 endpoint + a hypervisor + SSH machines on this host."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from pathlib import Path

from ..cloud.aws_client import AwsClient, AwsTarget
from ..cloud.instances import InstanceInfo
from ..data_folder import DataFolder
from ..errors import CloudLabError, ErrorKind
from ..json_files import read_json, write_json
from .ec2_endpoint import Ec2Endpoint, call_moto_api
from .hypervisor import Hypervisor
from .machine_disk import MachineDisk, kill_marked
from .machine_host import MachineHost
from .openssh_host import stale_mount_ns


def python_bin_dir() -> str:
    """The sandbox's machines come with this Python (like an AMI with its own environment)."""
    return str(Path(sys.executable).parent)


class SandboxNetwork:
    """MachineNetwork for sandbox machines: SSH on loopback, console from the machine's disk."""

    def __init__(self, hypervisor: Hypervisor, machines_dir: Path) -> None:
        self._hypervisor = hypervisor
        self._machines_dir = machines_dir

    async def ssh_endpoint(self, instance: InstanceInfo) -> tuple[str, int]:
        powered = await self._hypervisor.powered(instance.instance_id)
        return powered.host, powered.port

    async def console_output(self, instance_id: str) -> str:
        path = self._machines_dir / instance_id / "console.log"
        return path.read_text() if path.exists() else ""


def read_endpoint_file(folder: DataFolder) -> AwsTarget | None:
    """The EC2 endpoint of a sandbox running in a JupyterLab on this computer, if any."""
    found = read_json(folder.sandbox_endpoint)
    return AwsTarget(**found) if found else None


def _answers(previous: AwsTarget) -> bool:
    """Whether the sandbox of that endpoint file still runs (it answers requests signed with
    its own credentials, and only those)."""
    if not previous.endpoint_url:
        return False
    try:
        call_moto_api(previous, "/moto-api/", method="GET")
        return True
    except (OSError, ValueError):
        return False


def make_host(kind: str, machines_dir: Path) -> MachineHost:
    if kind == "openssh":
        from .openssh_host import OpenSSHMachineHost

        return OpenSSHMachineHost(machines_dir, python_bin_dir=python_bin_dir())
    from .asyncssh_host import AsyncsshMachineHost

    return AsyncsshMachineHost(machines_dir, python_bin_dir=python_bin_dir())


class Sandbox:
    def __init__(self, folder: DataFolder, ssh_server: str = "asyncssh") -> None:
        self._folder = folder
        self.machines_dir = folder.sandbox_machines
        self._endpoint = Ec2Endpoint()
        self._ssh_server = ssh_server
        self._hypervisor: Hypervisor | None = None
        self.network: SandboxNetwork | None = None

    @property
    def endpoint_url(self) -> str:
        return self._endpoint.url

    async def start(self) -> AwsTarget:
        # Ours alone: it holds the endpoint's credentials and the machines' host keys.
        folder = self._folder.sandbox.folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
        await asyncio.to_thread(self._clear_leftovers)
        target = await self._endpoint.start()
        host = make_host(self._ssh_server, self.machines_dir)
        self._hypervisor = Hypervisor(AwsClient(target), host, self._endpoint.signals.take_reboots)
        self._hypervisor.start()
        self._endpoint.signals.on_instance_change(self._hypervisor.nudge)
        self.network = SandboxNetwork(self._hypervisor, self.machines_dir)
        # So `jupyter cloudlab` in a terminal reaches this sandbox. The file holds the endpoint's
        # secret (0600, in the 0700 folder): never logged, never in a REST reply.
        write_json(self._folder.sandbox_endpoint, vars(target))
        return target

    def _clear_leftovers(self) -> None:
        """A sandbox whose server was killed leaves machines behind: cut their power.

        Their instances died with that server's in-memory EC2, so nothing else can reach them.
        """
        previous = read_endpoint_file(self._folder)
        if previous is not None and _answers(previous):
            raise CloudLabError(
                "Another JupyterLab on this computer runs the CloudLab sandbox with the same data "
                f"folder ({self._folder.root}): stop it first.",
                ErrorKind.conflict,
            )
        if not self.machines_dir.exists():
            return
        for machine in self.machines_dir.iterdir():
            # An OpenSSH machine's sshd carries no marker (its sessions do): it is found by the
            # mount namespace it runs in.
            mount_ns = None
            with contextlib.suppress(ValueError):  # not named as a machine's folder
                mount_ns = stale_mount_ns(MachineDisk(self.machines_dir, machine.name))
            kill_marked(machine.name, mount_ns)
            shutil.rmtree(machine, ignore_errors=True)

    async def stop(self) -> None:
        if self.network is not None:  # only a sandbox that started owns the endpoint file
            self._folder.sandbox_endpoint.unlink(missing_ok=True)
        if self._hypervisor is not None:
            await self._hypervisor.close()
        self._endpoint.stop()
