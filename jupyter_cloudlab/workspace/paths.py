"""Path rules of the mirror: a relative path is safe on both sides, and nothing escapes its folder.

Relative paths are POSIX strings ('data/train.csv') relative to the mirrored folder. Names that
come from the machine are untrusted: a name with '/', NUL, or that is '.'/'..' is refused, and a
local target is resolved (through any local symlink) and must stay inside the local folder.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

PART_SUFFIX = ".cloudlab-part"
"""A transfer in progress is written to ``.<name>.cloudlab-part`` and renamed into place."""
CONFLICT_TAG = "machine"
"""A file changed on both sides keeps the laptop's version in place and the machine's beside it,
as ``name (machine).ext`` (then ``name (machine 2).ext``, ...)."""


class UnsafePath(ValueError):
    """A path that would leave its folder (a '..', a '/', a NUL, a symlink out)."""


def is_safe_name(name: str) -> bool:
    """One path component that cannot climb or split: no '/', no NUL, not '', '.' or '..'."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def check_relative(rel: str) -> str:
    """RELATIVE itself, when every component is a safe name; else UnsafePath."""
    if not rel or rel.startswith("/") or not all(is_safe_name(p) for p in rel.split("/")):
        raise UnsafePath(f"refused path {rel!r}: it would leave the mirrored folder")
    return rel


def is_part_file(name: str) -> bool:
    return name.startswith(".") and name.endswith(PART_SUFFIX)


def part_of(path: str) -> str:
    """The temporary name a transfer to PATH writes first (same folder, so the rename is atomic)."""
    head, name = posixpath.split(path)
    return posixpath.join(head, f".{name}{PART_SUFFIX}")


def machine_path(machine_folder: str, rel: str) -> str:
    """The machine-side path of REL (checked) under MACHINE_FOLDER."""
    return posixpath.join(machine_folder, check_relative(rel)) if rel else machine_folder


def inside(root: Path, candidate: Path) -> bool:
    """Whether CANDIDATE, once resolved through every symlink, lies in ROOT (resolved)."""
    real_root = root.resolve()
    real = candidate.resolve()
    return real == real_root or real_root in real.parents


def local_target(root: Path, rel: str) -> Path:
    """Where REL from the machine may be written locally: its parent resolves inside ROOT (local
    symlinks included) and the name itself is not a symlink. Else UnsafePath."""
    target = root.joinpath(*check_relative(rel).split("/"))
    if not inside(root, target.parent) or target.is_symlink():
        raise UnsafePath(f"refused to write {rel!r}: it resolves outside the mirrored folder")
    return target


def conflict_name(root: Path, rel: str) -> str:
    """A free name beside REL for the machine's version of a file changed on both sides."""
    head, name = posixpath.split(rel)
    stem, ext = os.path.splitext(name)
    if stem.startswith(".") and not ext:  # '.env' is a stem, not an extension
        stem, ext = name, ""
    for n in range(1, 1000):
        tag = CONFLICT_TAG if n == 1 else f"{CONFLICT_TAG} {n}"
        candidate = posixpath.join(head, f"{stem} ({tag}){ext}")
        if not root.joinpath(*candidate.split("/")).exists():
            return candidate
    raise UnsafePath(f"no free name beside {rel!r} for the machine's copy")
