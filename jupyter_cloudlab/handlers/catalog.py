"""GET status and the launch catalog."""

from __future__ import annotations

import dataclasses

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..cloud import catalog
from ..models import Gpu, ImageList, ImageModel, InstanceTypeList, InstanceTypeModel, Status
from .base import CloudLabHandler


class StatusHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        session = await self.session()
        status = session.status.model_copy(
            update={"kernel_classes": self.settings.get("cloudlab_kernel_classes", "")}
        )
        self.reply(Status.model_validate(status.model_dump()))


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
        self.reply(ImageList(images=[image_model(i) for i in images]))


def image_model(image: catalog.Image) -> ImageModel:
    """An image as the REST API shows it (ours with what keeping it costs)."""
    fields = dataclasses.asdict(image)
    fields.pop("root_device_name")
    return ImageModel(**fields)
