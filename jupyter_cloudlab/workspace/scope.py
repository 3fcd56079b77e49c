"""Which local folder a notebook's kernel mirrors, and where its mirror lies on the machine.

Local paths are the local server's API paths ('project/analysis.ipynb'); the machine folder is
``<machine_root>/<same relative path>``, relative to the SFTP session's start (the user's home).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import CloudLabError, ErrorKind
from .paths import UnsafePath, check_relative, inside


@dataclass(frozen=True)
class Scope:
    mirrored: str
    """The mirrored folder's API path ('' for the server's root)."""
    working: str
    """The notebook's folder's API path: the kernel's working directory is its mirror."""


def scope_of(local_root: Path, notebook_path: str, scope: Literal["folder", "git"]) -> Scope:
    """The folders of NOTEBOOK_PATH; a git scope takes the enclosing repository (a folder with
    ``.git``, never above LOCAL_ROOT) when there is one."""
    api = notebook_path.strip("/")
    try:
        check_relative(api)
    except UnsafePath as error:
        raise CloudLabError(f"Not a notebook path the mirror can use: {api!r}.") from error
    working = posixpath.dirname(api)
    mirrored = working
    if scope == "git":
        candidate = working
        while True:
            if (_local(local_root, candidate) / ".git").exists():
                mirrored = candidate
                break
            if not candidate:
                break
            candidate = posixpath.dirname(candidate)
    if not inside(local_root, _local(local_root, mirrored)):
        raise CloudLabError(
            f"{mirrored!r} leads outside the server's root (a symlink): it is not mirrored.",
            ErrorKind.invalid,
        )
    return Scope(mirrored, working)


def machine_folder(machine_root: str, api_folder: str) -> str:
    """Where API_FOLDER's mirror lies on the machine (relative to the user's home)."""
    root = check_relative(machine_root.strip("/"))
    return posixpath.join(root, api_folder) if api_folder else root


def _local(local_root: Path, api_folder: str) -> Path:
    return local_root.joinpath(*api_folder.split("/")) if api_folder else local_root
