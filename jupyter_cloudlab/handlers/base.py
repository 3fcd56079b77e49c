"""What every CloudLab handler shares: auth resource, the account session, error replies."""

from __future__ import annotations

from typing import Any

from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, ValidationError
from tornado import web

from ..machines.orchestrator import MachineOrchestrator
from ..models import ErrorReply
from ..session.account_session import AccountSession
from ..session.backend import CloudLabBackend
from .errors import error_sentence, http_error, standard_reason

AUTH_RESOURCE = "cloudlab"


def _validation_message(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        parts.append(f"{field}: {problem['msg']}")
    return "Invalid request: " + "; ".join(parts) + "."


class CloudLabHandler(APIHandler):
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

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """A domain error is an answer, not a crash: one warning line, no traceback."""
        mapped = http_error(value)
        if mapped is None:
            super().log_exception(typ, value, tb)
            return
        self.log.warning("%d %s: %s", mapped.status_code, self._request_summary(), mapped.reason)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """JSON {message, reason}: the message is the plain sentence, intact whatever its
        characters, never a traceback; the status line carries the standard ASCII reason.

        User errors (CloudLabError) raised below get their status here (handlers/errors.py), so
        handlers need no try/except of their own.
        """
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        mapped = http_error(error)
        if mapped is not None:
            error, status_code = mapped, mapped.status_code
        self.set_status(status_code, reason=standard_reason(status_code))
        if status_code == 405:  # RFC 9110: a 405 says which methods the resource has
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.set_header("Content-Type", "application/json")
        sentence = error_sentence(error, status_code, kwargs.get("reason"))
        reply = ErrorReply(message=sentence, reason=self._reason)
        self.finish(reply.model_dump_json())

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler answers (those it defines over tornado's 405)."""
        return [
            method
            for method in cls.SUPPORTED_METHODS
            if getattr(cls, method.lower()) is not getattr(web.RequestHandler, method.lower())
        ]
