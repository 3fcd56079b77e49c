"""Machines: list, launch, get, stop, start, reboot, terminate."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..kernels.status import connection_status
from ..models import LaunchRequest, MachineChange, MachineConnection, MachineList
from .base import CloudLabHandler


class MachinesHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        orchestrator = await self.orchestrator()
        self.reply(MachineList(machines=orchestrator.list()))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = self.parse_body(LaunchRequest)
        session = await self.session()
        machine = await session.orchestrator.launch(request)
        if not request.mirror:  # recorded before its flow runs: it connects without a mirror
            machine = session.set_mirror(machine.id, False)
        self.reply(machine, status=202)


class MachineHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self, machine_id: str) -> None:
        orchestrator = await self.orchestrator()
        self.reply(orchestrator.get(machine_id))

    @web.authenticated
    @authorized
    async def patch(self, machine_id: str) -> None:
        change = self.parse_body(MachineChange)
        session = await self.session()
        machine = session.orchestrator.get(machine_id)
        if change.mirror is not None:
            machine = session.set_mirror(machine_id, change.mirror)
        self.reply(machine)

    @web.authenticated
    @authorized
    async def delete(self, machine_id: str) -> None:
        orchestrator = await self.orchestrator()
        machine = await orchestrator.terminate(machine_id)
        self.reply(machine, status=202)


class MachineActionHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def post(self, machine_id: str, action: str) -> None:
        orchestrator = await self.orchestrator()
        commands = {
            "stop": orchestrator.stop,
            "start": orchestrator.start,
            "reboot": orchestrator.reboot,
        }
        machine = await commands[action](machine_id)
        self.reply(machine, status=202)


class MachineConnectionHandler(CloudLabHandler):
    """The machine's tunnel (up, down, gone, detached), since when, and its kernels here."""

    @web.authenticated
    @authorized
    async def get(self, machine_id: str) -> None:
        orchestrator = await self.orchestrator()
        orchestrator.get(machine_id)
        status = connection_status(self.backend.machine_servers, self.kernel_manager, machine_id)
        self.reply(MachineConnection(**status))
