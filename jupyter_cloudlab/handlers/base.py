"""What every CloudLab REST handler shares: auth resource, the account session, error replies."""

from __future__ import annotations

from typing import Any

from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, ValidationError
from tornado import web

from ..machines.orchestrator import MachineOrchestrator
from ..session.account_session import AccountSession
from ..session.backend import CloudLabBackend
from .errors import JsonErrors

AUTH_RESOURCE = "cloudlab"


def _validation_message(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        parts.append(f"{field}: {problem['msg']}")
    return "Invalid request: " + "; ".join(parts) + "."


class CloudLabHandler(JsonErrors, APIHandler):
    """Errors answer as JSON {message, reason} (JsonErrors: a CloudLabError raised below gets
    its status there, so handlers need no try/except of their own)."""

    auth_resource = AUTH_RESOURCE

    @property
    def backend(self) -> CloudLabBackend:
        backend: CloudLabBackend = self.settings["cloudlab_backend"]
        return backend

    async def session(self) -> AccountSession:
        """The current account's session, once it is open (503 with a sentence if it is not)."""
        return await self.backend.session()

    async def orchestrator(self) -> MachineOrchestrator:
        return (await self.session()).orchestrator

    def parse_body(self, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate_json(self.request.body or b"{}")
        except ValidationError as error:
            raise web.HTTPError(400, reason=_validation_message(error)) from None

    def reply(self, body: BaseModel, status: int = 200) -> None:
        self.set_status(status)
        self.finish(body.model_dump_json())

    def set_error_headers(self, status_code: int) -> None:
        if status_code == 405:  # RFC 9110: a 405 says which methods the resource has
            self.set_header("Allow", ", ".join(self.allowed_methods()))

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler answers (those it defines over tornado's 405)."""
        return [
            method
            for method in cls.SUPPORTED_METHODS
            if getattr(cls, method.lower()) is not getattr(web.RequestHandler, method.lower())
        ]
