"""A machine's lifecycle beyond stop/start: retry a failed one, resize or save as an image a
stopped one, dismiss the row of one terminated from outside."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import ImageRequest, MachineList, ResizeRequest
from .base import CloudLabHandler
from .catalog import image_model


class MachineRetryHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def post(self, machine_id: str) -> None:
        orchestrator = await self.orchestrator()
        self.reply(await orchestrator.retry(machine_id), status=202)


class MachineResizeHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def post(self, machine_id: str) -> None:
        request = self.parse_body(ResizeRequest)
        orchestrator = await self.orchestrator()
        self.reply(await orchestrator.resize(machine_id, request.instance_type))


class MachineImageHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def post(self, machine_id: str) -> None:
        request = self.parse_body(ImageRequest)
        orchestrator = await self.orchestrator()
        image = await orchestrator.save_image(machine_id, request)
        self.reply(image_model(image), status=202)


class MachineDismissHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def post(self, machine_id: str) -> None:
        orchestrator = await self.orchestrator()
        orchestrator.dismiss(machine_id)
        self.reply(MachineList(machines=orchestrator.list()))
