"""A local cache of machine records; the cloud stays the truth (see reconcile)."""

from __future__ import annotations

from pathlib import Path

from ..json_files import read_json, write_json
from ..models import Machine


class MachineStore:
    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> list[Machine]:
        try:
            raw = read_json(self._path) or []
            return [Machine.model_validate(item) for item in raw]
        except (ValueError, TypeError):
            return []  # a corrupt cache is rebuilt from the cloud

    def save(self, machines: list[Machine]) -> None:
        write_json(self._path, [m.model_dump(mode="json") for m in machines])
