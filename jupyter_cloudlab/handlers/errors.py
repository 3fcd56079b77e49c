"""The one map from the kinds of user errors to HTTP statuses (the CLI has its own, to exit codes)."""

from __future__ import annotations

from tornado import web

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


def http_error(error: BaseException | None) -> web.HTTPError | None:
    """The HTTP answer to a user error, with its sentence as the reason (None: not one of ours)."""
    if isinstance(error, CloudLabError):
        return web.HTTPError(HTTP_STATUS[error.kind], reason=error.message)
    return None
