"""What the mirror leaves out: ``.gitignore`` and ``.cloudlabignore`` rules (gitwildmatch, via
pathspec, nested files apply below their folder, a deeper rule wins) and the usual caches, always.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .paths import is_part_file

IGNORE_FILES = (".gitignore", ".cloudlabignore")
ALWAYS_EXCLUDED = frozenset({".git", "__pycache__", ".ipynb_checkpoints", "node_modules", ".venv"})
VENV_MARKER = "pyvenv.cfg"


def always_excluded(name: str) -> bool:
    """Names never mirrored, whatever the rules say (caches, VCS data, transfers in progress)."""
    return name in ALWAYS_EXCLUDED or is_part_file(name)


def is_virtualenv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, VENV_MARKER))


@dataclass(frozen=True)
class _Rules:
    base: str
    """The folder the rules were found in, relative to the mirrored folder ('' for itself)."""
    spec: pathspec.GitIgnoreSpec


def _read_rules(folder: Path) -> pathspec.GitIgnoreSpec | None:
    lines: list[str] = []
    for name in IGNORE_FILES:
        try:
            lines += (folder / name).read_text(errors="replace").splitlines()
        except OSError:
            continue
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


@dataclass
class IgnoreRules:
    """The ignore rules of one mirrored folder, gathered as the walk enters each sub-folder."""

    root: Path
    _rules: list[_Rules] = field(default_factory=list)

    @classmethod
    def for_folder(cls, root: Path, top: Path | None = None) -> IgnoreRules:
        """Rules for ROOT, including those of its parents up to TOP (a repository's root ignore
        file applies to a folder inside it)."""
        rules = cls(root)
        parents: list[Path] = []
        if top is not None and root != top and top in root.parents:
            folder = root.parent
            while folder != top.parent:
                parents.append(folder)
                folder = folder.parent
        for folder in reversed(parents):
            spec = _read_rules(folder)
            if spec is not None:
                prefix = os.path.relpath(root, folder).replace(os.sep, "/")
                rules._rules.append(_Rules(f"-{prefix}", spec))
        return rules

    def enter(self, rel_dir: str) -> None:
        """Read the ignore files of REL_DIR ('' for the root) before its entries are checked."""
        spec = _read_rules(self.root / rel_dir if rel_dir else self.root)
        if spec is not None:
            self._rules.append(_Rules(rel_dir, spec))

    def excluded(self, rel: str, is_dir: bool) -> bool:
        """Whether REL (relative to the mirrored folder) is left out by the rules."""
        decision: bool | None = None
        for rules in self._rules:
            local = _relative_to(rules.base, rel)
            if local is None:
                continue
            result = rules.spec.check_file(local + "/" if is_dir else local)
            if result.include is not None:
                decision = result.include
        return bool(decision)


def _relative_to(base: str, rel: str) -> str | None:
    """REL as seen from the rules' folder BASE; '-p' marks a parent folder whose view of the
    mirrored folder is 'p'."""
    if base.startswith("-"):
        return f"{base[1:]}/{rel}"
    if not base:
        return rel
    return rel[len(base) + 1 :] if rel.startswith(base + "/") else None
