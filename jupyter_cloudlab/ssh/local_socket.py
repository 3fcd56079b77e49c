"""Where a tunnel's local end listens: a Unix socket in a folder only this user can enter.

A loopback TCP port is shared with every local user: one that the tunnel releases while it heals
can be taken by another user, whose listener then gets the machine server's token with the next
request and answers the browser's kernel websocket. A path in a folder of ours with mode 0700
cannot be taken: nobody else may create, replace or connect to anything in it, whether the
socket is there at that moment or not. The folder is made by ``mkdtemp`` (atomically, 0700, under
a random name) in the temporary folder, which keeps the path short: ``sun_path`` holds 108 bytes
on Linux and 104 on macOS.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

MAX_SOCKET_PATH_BYTES = 100
"""The longest socket path used (``sun_path`` is 104 bytes on macOS, with its final NUL)."""
FALLBACK_PARENT = "/tmp"
"""Where the folder goes when $TMPDIR is too deep for a socket path."""


class PrivateFolderError(Exception):
    """A folder meant for our sockets is not ours alone."""


def private_folder(name: str) -> Path:
    """A new folder only this user can enter, short enough for sockets named up to ``name``."""
    for parent in (None, FALLBACK_PARENT):
        folder = Path(tempfile.mkdtemp(prefix="cloudlab-", dir=parent))
        if len(os.fsencode(folder / name)) <= MAX_SOCKET_PATH_BYTES:
            check_private(folder)
            return folder
        folder.rmdir()
    raise PrivateFolderError(
        f"No temporary folder gives a socket path of at most {MAX_SOCKET_PATH_BYTES} bytes: "
        "set TMPDIR to a shorter one."
    )


def check_private(folder: Path) -> None:
    """Raise PrivateFolderError unless ``folder`` is a real folder (no symlink) of this user,
    closed to group and others."""
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise PrivateFolderError(f"{folder} is not a folder of this user closed to all others")


def remove_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(folder)
