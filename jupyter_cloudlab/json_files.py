"""JSON files that are written whole or not at all, readable by their owner only."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any, mode: int = 0o600) -> None:
    """Write `data` to `path` atomically (a temp file beside it, then a rename): a process killed
    mid-write leaves the previous version, never a torn file. The file gets `mode` from its
    first byte (mkstemp makes it 0600), and its folder is made 0700 when missing."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.chmod(scratch, mode)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The file's data, or None when it does not exist. Raises ValueError when unreadable."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
