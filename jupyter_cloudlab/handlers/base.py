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


def domain_http_error(error: BaseException | None) -> web.HTTPError | None:
    """The single map from domain errors to HTTP statuses and plain messages (None: not ours)."""
    if isinstance(error, MachineNotFound):
        return web.HTTPError(404, reason=str(error))
    if isinstance(error, InvalidTransition):
        return web.HTTPError(409, reason=str(error))
    if isinstance(error, CloudError):
        return web.HTTPError(error.status, reason=error.message)
    return None


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
            raise web.HTTPError(400, reason=_validation_message(error)) from None

    def reply(self, body: BaseModel, status: int = 200) -> None:
        self.set_status(status)
        self.finish(body.model_dump_json())

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """A domain error is an answer, not a crash: one warning line, no traceback."""
        mapped = domain_http_error(value)
        if mapped is None:
            super().log_exception(typ, value, tb)
            return
        self.log.warning("%d %s: %s", mapped.status_code, self._request_summary(), mapped.reason)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """JSON {message, reason}; the message is the plain sentence, never a traceback.

        Domain errors raised by the backend get their status here, so handlers need no
        try/except of their own.
        """
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        mapped = domain_http_error(error)
        if mapped is not None:
            error = mapped
            self.set_status(mapped.status_code, reason=mapped.reason)
        message = self._reason
        if isinstance(error, web.HTTPError) and error.reason:
            message = error.reason
        elif error is not None and not isinstance(error, web.HTTPError):
            message = "CloudLab hit an unexpected error; the server log has the details."
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "reason": self._reason}))
