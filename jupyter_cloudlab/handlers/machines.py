"""Machines: list, launch, get, stop, start, terminate."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import LaunchRequest, MachineList
from .base import CloudLabHandler, http_error


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
        orchestrator = await self.orchestrator()
        try:
            machine = await orchestrator.launch(request)
        except Exception as error:
            raise http_error(error) from None
        self.reply(machine, status=202)


class MachineHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self, machine_id: str) -> None:
        orchestrator = await self.orchestrator()
        try:
            self.reply(orchestrator.get(machine_id))
        except Exception as error:
            raise http_error(error) from None

    @web.authenticated
    @authorized
    async def delete(self, machine_id: str) -> None:
        orchestrator = await self.orchestrator()
        try:
            machine = await orchestrator.terminate(machine_id)
        except Exception as error:
            raise http_error(error) from None
        self.reply(machine, status=202)


class MachineActionHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def post(self, machine_id: str, action: str) -> None:
        orchestrator = await self.orchestrator()
        command = orchestrator.stop if action == "stop" else orchestrator.start
        try:
            machine = await command(machine_id)
        except Exception as error:
            raise http_error(error) from None
        self.reply(machine, status=202)
