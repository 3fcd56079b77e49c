"""Links running machines to this server: SSH link and tunnel, machine server registered, kernels listed.

The orchestrator decides when; this file knows how, and follows each tunnel's state.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from ..cloud.aws_client import AwsClient
from ..cloud.network import Ec2Network
from ..kernels.machine_servers import MachineServer, MachineServerRegistry
from ..models import Machine, MachineState, TunnelState
from ..ssh.bootstrap import BootstrapResult
from ..workspace.mirror import Mirror
from .book import MachineBook
from .guard import MachineGuard
from .link import LinkContext, MachineLink

log = logging.getLogger(__name__)

S = MachineState
# The step a machine shows while it connects and bootstraps (as its `message`), for the launch
# notification. The bootstrap installs and starts the server in one remote run.
STEP_OF_PHASE = {
    "connecting": "Connecting over SSH",
    "bootstrapping": "Installing and starting the machine server",
}
STEP_LISTING = "Machine server started; looking for its kernels"
KernelspecLister = Callable[[MachineServer], Awaitable[list[str]]]


class MachineConnector:
    def __init__(
        self,
        context: LinkContext,
        book: MachineBook,
        machine_servers: MachineServerRegistry,
        list_kernelspecs: KernelspecLister,
        forget_kernels: Callable[[str], Awaitable[None]],
        cloud: Callable[[str], AwsClient],
        on_gone: Callable[[str], None],
    ) -> None:
        self._context = context
        self._book = book
        self._machine_servers = machine_servers
        self._list_kernelspecs = list_kernelspecs
        self._forget_kernels = forget_kernels
        self._cloud = cloud
        self._on_gone = on_gone
        self._links: dict[str, MachineLink] = {}
        desk = context.guards
        self.guard = (
            desk.build(book, machine_servers) if desk else MachineGuard(book, machine_servers)
        )
        """Reads each ready machine's idle stop and budget; sends their changes."""
        if context.workspaces is not None:
            context.workspaces.attach(self.set_mirror)

    def link(self, machine_id: str) -> MachineLink | None:
        return self._links.get(machine_id)

    def tunnel_state(self, machine_id: str) -> TunnelState:
        link = self._links.get(machine_id)
        return link.tunnel_state if link else TunnelState.detached

    async def connect(self, machine_id: str) -> None:
        """SSH in (retried while it boots), bootstrap, forward; `ready` once its kernels answer."""
        machine = self._book.get(machine_id)
        assert machine.instance_id is not None
        ec2 = self._cloud(machine_id)
        context = self._context
        if ec2 is not context.ec2:  # a machine of another region
            context = dataclasses.replace(context, ec2=ec2, network=Ec2Network(ec2))
        link = MachineLink(
            context,
            machine.instance_id,
            on_phase=lambda phase: self._on_phase(machine_id, phase),
            on_tunnel_state=lambda state, bootstrapped: self._on_tunnel(
                machine_id, state, bootstrapped
            ),
        )
        self._links[machine_id] = link
        workspaces = context.workspaces
        if workspaces is not None:
            workspaces.open(
                machine_id, link.sftp, link.shell
            )  # before the tunnel's up: its server gets it
        await link.open()
        self._book.change(machine_id, address=link.address, message=STEP_LISTING)
        if workspaces is not None:
            self._book.update(machine_id, workspace=workspaces.machine_folder)
        machine_server = self._machine_servers.get(machine_id)
        assert machine_server is not None
        specs = await self._list_kernelspecs(machine_server)
        found = f"{len(specs)} kernel{'' if len(specs) == 1 else 's'} found"
        self._book.update(machine_id, kernelspecs=specs, message=found)
        self._book.set_state(machine_id, S.ready)
        self.guard.watch(machine_id)
        log.info("Machine %s (%s) is ready", machine.name, machine.instance_id)

    async def disconnect(self, machine_id: str, forget: bool = True) -> None:
        """Close the link; `forget`: its kernels end too (stop, terminate)."""
        self.guard.forget(machine_id)
        self._machine_servers.remove(machine_id)
        link = self._links.get(machine_id)
        if link is not None:
            # Registered until closed: a close cancelled midway (a flow cancelled at shutdown)
            # is finished by detach_all, so no forward process outlives the server unobserved.
            await link.close()
            if self._links.get(machine_id) is link:
                del self._links[machine_id]
                if self._context.workspaces is not None:
                    await self._context.workspaces.close(machine_id)
        if forget:
            await self.forget_kernels(machine_id)

    async def forget_kernels(self, machine_id: str) -> None:
        """The machine's kernels are gone (or about to be): withdraw them and its kernelspecs."""
        self._machine_servers.remove(machine_id)
        await self._forget_kernels(machine_id)
        if machine_id in self._book:
            self._book.update(machine_id, kernelspecs=[])

    async def detach_all(self) -> None:
        """Let go of every machine; their kernels keep running."""
        for machine_id in list(self._links):
            await self.disconnect(machine_id, forget=False)

    def _on_phase(self, machine_id: str, phase: str) -> None:
        machine = self._book.find(machine_id)
        # A ready machine whose tunnel heals stays ready: the tunnel state says "reconnecting",
        # and its kernels are not shown as gone meanwhile.
        if machine is not None and machine.state is not S.ready:
            self._book.update(machine_id, message=STEP_OF_PHASE.get(phase))
            self._book.set_state(machine_id, S(phase))

    def _on_tunnel(
        self, machine_id: str, state: TunnelState, bootstrapped: BootstrapResult | None
    ) -> None:
        machine = self._book.find(machine_id)
        link = self._links.get(machine_id)
        if machine is None or link is None:
            return
        if state in (TunnelState.down, TunnelState.gone, TunnelState.refused):
            self._machine_servers.set_link_state(machine_id, state)  # status
        if state is TunnelState.up and bootstrapped is not None and link.socket_path is not None:
            if bootstrapped.gpu is not None and bootstrapped.gpu_label != machine.gpu_label:
                # What nvidia-smi found on the machine beats the instance-type catalog.
                self._book.update(machine_id, gpu_label=bootstrapped.gpu_label)
                machine = self._book.get(machine_id)
            label = f"{machine.instance_type} · {machine.gpu_label}"
            self._machine_servers.add(
                MachineServer(
                    machine_id=machine_id,
                    machine_name=machine.name,
                    base_url=f"http://cloudlab-{machine_id}",
                    token=bootstrapped.token,
                    label=label,
                    socket_path=link.socket_path,
                    files=self._files(machine),
                )
            )
        elif state is TunnelState.gone:
            self._on_gone(machine_id)
        elif state is TunnelState.refused and link.refusal is not None:
            self._book.fail(machine_id, link.refusal)  # a changed host key: say so, do not retry

    def _files(self, machine: Machine) -> Mirror | None:
        """The machine's mirror while it is on for the machine (else kernels work as before)."""
        workspaces = self._context.workspaces
        if workspaces is None or not machine.mirror:
            return None
        return workspaces.get(machine.id)

    def set_mirror(self, machine_id: str, enabled: bool) -> Machine:
        """Turn a machine's mirror on or off: recorded (persisted, announced) and, while the
        machine is connected, its kernels' next cells follow."""
        self._book.change(machine_id, mirror=enabled)
        machine = self._book.get(machine_id)
        machine_server = self._machine_servers.get(machine_id)
        if machine_server is not None:
            files = self._files(machine)
            self._machine_servers.add(dataclasses.replace(machine_server, files=files))
        return machine
