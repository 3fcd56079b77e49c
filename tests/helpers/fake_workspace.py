"""A stand-in for the workspace mirror (workspace/mirror.py), through the kernel layer's
Protocols (kernels/kernel_files.py): it records what the relay asks of it, and "mirrors" by
creating the folder on the machine and stat-ing the local folder (what a no-change check costs).
"""

from __future__ import annotations

import asyncio
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

MACHINE_ROOT = "cloudlab/work"


@dataclass
class FakeFolder:
    files: FakeFiles
    folder: str
    """Local API path of the mirrored folder ('' for the root)."""

    @property
    def machine_dir(self) -> str:
        return posixpath.join(MACHINE_ROOT, self.folder) if self.folder else MACHINE_ROOT

    async def before_execute(self) -> None:
        files = self.files
        files.events.append("push")
        if files.hold_push is not None:
            await files.hold_push.wait()
        if files.push_error is not None:
            raise files.push_error
        # What a real no-change check costs: one stat per local file.
        for _dirpath, _dirs, names in os.walk(files.local_root / self.folder):
            for name in names:
                os.stat(os.path.join(_dirpath, name))
        # The cell can see that its push came first.
        marker = files.machine_home / self.machine_dir / "pushes.txt"
        marker.write_text(str(files.events.count("push")))

    def after_execute(self) -> None:
        self.files.events.append("pull")


@dataclass
class FakeFiles:
    local_root: Path
    machine_home: Path
    events: list[str] = field(default_factory=list)
    opened: list[str | None] = field(default_factory=list)
    push_error: Exception | None = None
    open_error: Exception | None = None
    hold_push: asyncio.Event | None = None

    async def open(self, notebook_path: str | None) -> FakeFolder:
        self.opened.append(notebook_path)
        if self.open_error is not None:
            raise self.open_error
        folder = posixpath.dirname(notebook_path) if notebook_path else ""
        workspace = FakeFolder(self, folder)
        (self.machine_home / workspace.machine_dir).mkdir(parents=True, exist_ok=True)
        return workspace
