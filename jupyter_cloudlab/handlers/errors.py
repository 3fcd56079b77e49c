"""The one map from the kinds of user errors to HTTP statuses (the CLI has its own, to exit codes),
and what an error reply says: its sentence in the body, the standard reason on the status line;
`JsonErrors` writes it for every CloudLab handler (REST, the logo route, the terminal socket)."""

from __future__ import annotations

from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from tornado import httputil, web

from ..errors import CloudLabError, ErrorKind
from ..models import ErrorReply

HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.invalid: 400,
    ErrorKind.credentials: 401,
    ErrorKind.forbidden: 403,
    ErrorKind.quota: 403,
    ErrorKind.not_found: 404,
    ErrorKind.conflict: 409,
    ErrorKind.unexpected: 500,
    ErrorKind.failed: 502,
    ErrorKind.unavailable: 503,
}


UNEXPECTED = "CloudLab hit an unexpected error; the server log has the details."


def http_error(error: BaseException | None) -> web.HTTPError | None:
    """The HTTP answer to a user error, with its sentence as the reason (None: not one of ours)."""
    if isinstance(error, CloudLabError):
        return web.HTTPError(HTTP_STATUS[error.kind], reason=error.message)
    return None


def standard_reason(status: int) -> str:
    """The reason phrase sent on the status line: always the standard, ASCII one. The sentence
    goes in the JSON body, since tornado sends "Unknown" for a reason outside latin-1
    (e.g. "Settings → CloudLab")."""
    return httputil.responses.get(status, "Unknown")


def error_sentence(error: BaseException | None, status: int, reason: str | None = None) -> str:
    """The body's message: the sentence an HTTPError (or `send_error`) carries as its reason, a
    generic one for a crash (never its text: it may hold internals), else the status's phrase."""
    if isinstance(error, web.HTTPError):
        return error.reason or standard_reason(status)
    if error is not None:
        return UNEXPECTED
    return reason or standard_reason(status)


class JsonErrors(JupyterHandler):
    """Error replies as JSON {message, reason} (jupyter_server's own error page is HTML), for a
    handler that derives from this class where it would from JupyterHandler (before APIHandler):
    the message is the plain sentence, intact whatever its characters, never a traceback; the
    status line carries the standard ASCII reason.

    User errors (CloudLabError) raised below get their status here, so handlers need no
    try/except of their own, and are logged as one warning line: an answer, not a crash.
    """

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        mapped = http_error(value)
        if mapped is None:
            super().log_exception(typ, value, tb)
            return
        self.log.warning("%d %s: %s", mapped.status_code, self._request_summary(), mapped.reason)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        mapped = http_error(error)
        if mapped is not None:
            error, status_code = mapped, mapped.status_code
        self.set_status(status_code, reason=standard_reason(status_code))
        self.set_error_headers(status_code)
        self.set_header("Content-Type", "application/json")
        sentence = error_sentence(error, status_code, kwargs.get("reason"))
        self.finish(ErrorReply(message=sentence, reason=self._reason).model_dump_json())

    def set_error_headers(self, status_code: int) -> None:
        """Headers a handler adds to its error replies (none here)."""
