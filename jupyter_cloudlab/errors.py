"""The user errors of every layer: a sentence that says what to do, and a kind.

A kind says what went wrong, not how to answer it: the REST handlers map kinds to HTTP statuses
in one place (handlers/errors.py), the CLI to exit codes (cli.py).
"""

from __future__ import annotations

from enum import Enum


class ErrorKind(str, Enum):
    invalid = "invalid"
    """The request, a setting or an input is wrong: fix it."""
    credentials = "credentials"
    """No AWS credentials, or they expired: sign in."""
    forbidden = "forbidden"
    """The AWS identity may not do this (IAM), or an opt-in is missing."""
    quota = "quota"
    """An account limit stands in the way (vCPU quota)."""
    not_found = "not_found"
    """No such machine, instance, image or profile."""
    conflict = "conflict"
    """The current state does not allow this now (a machine stopping, a second sandbox)."""
    unavailable = "unavailable"
    """Temporarily impossible: no capacity, throttled, offline, a machine not reachable."""
    failed = "failed"
    """Something on a machine failed (SSH, its server): its sentence says what."""
    unexpected = "unexpected"
    """A failure nobody planned for (a bug): the log has the details."""


class CloudLabError(Exception):
    """A failure with a sentence for the user; `code` is the AWS error code, when there is one."""

    kind: ErrorKind = ErrorKind.invalid

    def __init__(
        self, message: str, kind: ErrorKind | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        self.code = code
