"""The machine side's index: every regular file under the machine folder with (size, mtime), by a
recursive SFTP listing (one readdir per folder, the folders of one depth listed at once).

Names from the machine are untrusted: a name with '/', NUL, '..' is refused, a symlink is never
followed (it could point at /etc or the laptop's mirror of something else), and both are reported.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import asyncssh

from .ignore import VENV_MARKER, always_excluded
from .paths import is_safe_name


class MachineStat(NamedTuple):
    size: int
    mtime: int
    """Seconds: SFTP version 3 (OpenSSH) carries no finer time."""


@dataclass
class MachineIndex:
    files: dict[str, MachineStat] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    """Names not taken: unsafe names and symlinks (relative, as listed)."""


def machine_stat(attrs: asyncssh.SFTPAttrs) -> MachineStat:
    return MachineStat(attrs.size or 0, int(attrs.mtime or 0))


def _kind(attrs: asyncssh.SFTPAttrs) -> int:
    if attrs.permissions is not None:
        return stat.S_IFMT(attrs.permissions)
    return {
        asyncssh.FILEXFER_TYPE_REGULAR: stat.S_IFREG,
        asyncssh.FILEXFER_TYPE_DIRECTORY: stat.S_IFDIR,
        asyncssh.FILEXFER_TYPE_SYMLINK: stat.S_IFLNK,
    }.get(attrs.type, 0)


async def _list_folder(
    sftp: asyncssh.SFTPClient, path: str
) -> list[tuple[str | bytes, asyncssh.SFTPAttrs]]:
    try:
        # readdir's attributes are lstat's (OpenSSH): a symlink shows as one.
        return [(n.filename, n.attrs) async for n in sftp.scandir(path)]
    except asyncssh.SFTPNoSuchFile:
        return []


async def list_machine(
    sftp: asyncssh.SFTPClient, folder: str, excluded: Callable[[str, bool], bool]
) -> MachineIndex:
    """Index FOLDER on the machine (absent: empty), without what EXCLUDED(rel, is_dir) leaves out
    nor virtual environments (a folder holding pyvenv.cfg) the kernel may have made."""
    index = MachineIndex()
    level = [""]
    while level:
        listings = await asyncio.gather(
            *(_list_folder(sftp, f"{folder}/{rel}" if rel else folder) for rel in level)
        )
        next_level: list[str] = []
        for rel_dir, entries in zip(level, listings, strict=True):
            if rel_dir and any(name == VENV_MARKER for name, _ in entries):
                continue
            for raw_name, attrs in entries:
                name = raw_name if isinstance(raw_name, str) else raw_name.decode(errors="replace")
                if name in (".", ".."):
                    continue
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if not is_safe_name(name) or not isinstance(raw_name, str):
                    index.refused.append(rel)
                    continue
                if always_excluded(name):
                    continue
                kind = _kind(attrs)
                if kind == stat.S_IFLNK:
                    index.refused.append(rel)
                elif kind == stat.S_IFDIR:
                    if not excluded(rel, True):
                        next_level.append(rel)
                elif kind == stat.S_IFREG and not excluded(rel, False):
                    index.files[rel] = machine_stat(attrs)
        level = next_level
    return index
