"""What every CloudLab handler shares: auth resource, the backend, errors mapped in one place."""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, ValidationError
from tornado import web

from ..backend import CloudLabBackend
from ..cloud.errors import CloudError
from ..machines.errors import InvalidTransition, MachineNotFound
from ..machines.orchestrator import MachineOrchestrator

AUTH_RESOURCE = "cloudlab"


def _validation_message(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        parts.append(f"{field}: {problem['msg']}")
    return "Invalid request: " + "; ".join(parts) + "."


def http_error(error: Exception) -> web.HTTPError:
    """The single map from domain errors to HTTP statuses and plain messages."""
    if isinstance(error, ValidationError):
        return web.HTTPError(400, reason=_validation_message(error))
    if isinstance(error, MachineNotFound):
        return web.HTTPError(404, reason=str(error))
    if isinstance(error, InvalidTransition):
        return web.HTTPError(409, reason=str(error))
    if isinstance(error, CloudError):
        return web.HTTPError(error.status, reason=error.message)
    raise error


class CloudLabHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def backend(self) -> CloudLabBackend:
        backend: CloudLabBackend = self.settings["cloudlab_backend"]
        return backend

    async def ready_backend(self) -> CloudLabBackend:
        backend = self.backend
        await backend.ready.wait()
        if backend.startup_error:
            raise web.HTTPError(503, reason=backend.startup_error)
        return backend

    async def orchestrator(self) -> MachineOrchestrator:
        backend = await self.ready_backend()
        assert backend.orchestrator is not None
        return backend.orchestrator

    def parse_body(self, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate_json(self.request.body or b"{}")
        except ValidationError as error:
            raise http_error(error) from None

    def reply(self, body: BaseModel, status: int = 200) -> None:
        self.set_status(status)
        self.finish(body.model_dump_json())

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """JSON {message, reason}; the message is the plain sentence, never a traceback."""
        exc_info = kwargs.get("exc_info")
        message = self._reason
        if exc_info and isinstance(exc_info[1], web.HTTPError) and exc_info[1].reason:
            message = exc_info[1].reason
        elif exc_info and not isinstance(exc_info[1], web.HTTPError):
            message = "CloudLab hit an unexpected error; the server log has the details."
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "reason": self._reason}))
