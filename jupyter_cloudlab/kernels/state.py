"""The remote kernels this server knows, kept in a JSON file so a restart (clean or killed)
finds them again: ``{kernel_id: {"machine_id": ..., "remote_name": ...}}``.

Written whole and atomically (temp file + rename) on every change: a server killed mid-write
leaves the previous version, never a torn file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

Entries = dict[str, dict[str, str]]


def load_kernel_map(path: str) -> Entries:
    """The saved map; empty when there is none or it cannot be read (a cache, not the truth)."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("Ignoring unreadable remote kernel map %s: %s", path, e)
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(kid): {"machine_id": str(v["machine_id"]), "remote_name": str(v["remote_name"])}
        for kid, v in data.items()
        if isinstance(v, dict) and "machine_id" in v and "remote_name" in v
    }


def save_kernel_map(path: str, entries: Entries) -> None:
    if not path:
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".kernels-", dir=target.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(entries, f, indent=1, sort_keys=True)
        os.replace(tmp, target)
    except OSError as e:
        log.warning("Could not save the remote kernel map %s: %s", path, e)
