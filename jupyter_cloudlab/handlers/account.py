"""The AWS profile and region JupyterLab's settings pick for this server."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import AccountChoice, Status
from .base import CloudLabHandler


class AccountHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def put(self) -> None:
        choice = self.parse_body(AccountChoice)
        status = await self.backend.choose_account(choice)
        self.reply(Status.model_validate(status.model_dump()))
