"""The mirror's words shared by its modules and its callers: settings, reports, notices, and how
the mirror reaches the machine's SFTP (re-exported by ``mirror``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import asyncssh

DEFAULT_MACHINE_ROOT = "cloudlab/work"
DEFAULT_SIZE_LIMIT = 2 * 1024**3


@dataclass(frozen=True)
class MirrorSettings:
    enabled: bool = True
    size_limit: int = DEFAULT_SIZE_LIMIT
    """Bytes mirrored at most per folder; past it the user is told what was left out and why
    (the largest files are left out first, so the most files fit)."""
    scope: Literal["folder", "git"] = "folder"
    """Mirror the notebook's folder, or the enclosing git repository when there is one."""
    machine_root: str = DEFAULT_MACHINE_ROOT


@dataclass(frozen=True)
class SyncReport:
    """What one push or pull did; ``MirrorNotice``s go to the user."""

    direction: Literal["push", "pull"]
    folder: str
    """The mirrored folder, as a local API path ('' for the root)."""
    sent: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    """Files changed on both sides: the path of the copy kept beside each, ``name (machine).ext``
    (the laptop's version stays in place and goes to the machine)."""
    left_out: list[str] = field(default_factory=list)
    """Files not mirrored (size limit), with the reason in ``MirrorNotice``."""
    bytes: int = 0
    refused: list[str] = field(default_factory=list)
    """Machine-side names not taken (unsafe names, symlinks)."""


NoticeKind = Literal["progress", "conflict", "left_out", "failed", "done"]


@dataclass(frozen=True)
class MirrorNotice:
    """Something the user must hear about: progress of a transfer that takes more than a second
    or two, a conflict, what the size limit left out, a transfer that failed."""

    machine_id: str
    kind: NoticeKind
    message: str
    folder: str = ""
    done_bytes: int = 0
    total_bytes: int = 0


SftpOpener = Callable[[], Awaitable[asyncssh.SFTPClient]]
"""Opens (or returns the open) SFTP session of the machine's SSH connection; raises while the
link is down (the mirror then waits or reports, never hangs a cell forever)."""
