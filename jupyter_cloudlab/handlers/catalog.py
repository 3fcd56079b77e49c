"""GET status and the launch catalog."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import Gpu, ImageList, ImageModel, InstanceTypeList, InstanceTypeModel, Status
from .base import CloudLabHandler


class StatusHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        session = await self.session()
        self.reply(Status.model_validate(session.status.model_dump()))


class InstanceTypesHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        types = await (await self.session()).instance_types()
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
                        spot_price_per_hour=t.spot_price_per_hour,
                        price_source=t.price_source,
                    )
                    for t in types
                ]
            )
        )


class ImagesHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        images = await (await self.session()).images()
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
