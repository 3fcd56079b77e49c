"""A local cache of machine records; the cloud stays the truth (see reconcile)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..models import Machine


class MachineStore:
    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> list[Machine]:
        if not self._path.exists():
            return []
        try:
            raw = json.loads(self._path.read_text())
            return [Machine.model_validate(item) for item in raw]
        except (ValueError, TypeError):
            return []  # a corrupt cache is rebuilt from the cloud

    def save(self, machines: list[Machine]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self._path.with_suffix(".tmp")
        scratch.write_text(json.dumps([m.model_dump(mode="json") for m in machines], indent=1))
        os.replace(scratch, self._path)
