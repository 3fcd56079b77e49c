"""GET status and the launch catalog."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import Gpu, ImageList, ImageModel, InstanceTypeList, InstanceTypeModel, Status
from .base import CloudLabHandler, http_error


class StatusHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        backend = await self.ready_backend()
        self.reply(Status.model_validate(backend.status.model_dump()))


class InstanceTypesHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        backend = await self.ready_backend()
        try:
            types = await backend.instance_types()
        except Exception as error:
            raise http_error(error) from None
        self.reply(
            InstanceTypeList(
                instance_types=[
                    InstanceTypeModel(
                        name=t.name,
                        vcpus=t.vcpus,
                        memory_gib=t.memory_gib,
                        architecture=t.architecture,
                        gpu=Gpu(**vars(t.gpu)) if t.gpu else None,
                        price_per_hour=t.price_per_hour,
                    )
                    for t in types
                ]
            )
        )


class ImagesHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        backend = await self.ready_backend()
        try:
            images = await backend.images()
        except Exception as error:
            raise http_error(error) from None
        self.reply(
            ImageList(
                images=[
                    ImageModel(
                        id=i.id,
                        name=i.name,
                        description=i.description,
                        architecture=i.architecture,
                        ssh_user=i.ssh_user,
                        family=i.family,
                    )
                    for i in images
                ]
            )
        )
