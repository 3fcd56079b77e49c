"""The one map from the kinds of user errors to HTTP statuses (the CLI has its own, to exit codes),
and what an error reply says: its sentence in the body, the standard reason on the status line."""

from __future__ import annotations

from tornado import httputil, web

from ..errors import CloudLabError, ErrorKind

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
