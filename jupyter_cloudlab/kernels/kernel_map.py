"""The machine kernels this server knows, kept in a JSON file so a restart (clean or killed)
finds them again: ``{kernel_id: {"machine_id": ..., "remote_name": ...}}``.

Written whole and atomically on every change (json_files): a server killed mid-write leaves the
previous version, never a torn file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..json_files import read_json, write_json

log = logging.getLogger(__name__)

Entries = dict[str, dict[str, str]]


def load_kernel_map(path: str) -> Entries:
    """The saved map; empty when there is none or it cannot be read (a cache, not the truth)."""
    if not path:
        return {}
    try:
        data = read_json(Path(path))
    except (OSError, ValueError) as e:
        log.warning("Ignoring unreadable machine kernel map %s: %s", path, e)
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
    try:
        write_json(Path(path), entries)
    except OSError as e:
        log.warning("Could not save the machine kernel map %s: %s", path, e)
