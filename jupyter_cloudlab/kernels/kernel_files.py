"""What the kernel layer needs of a machine's workspace, without knowing how files travel.

The machines layer gives each ``MachineServer`` a ``MachineFiles`` (built on workspace/, which
moves files over SFTP); the kernel layer only asks it where a kernel works and tells it when a
cell starts and ends. Kernels never import ssh/ or workspace/ (see docs/architecture.md).
"""

from __future__ import annotations

from typing import Protocol


class KernelWorkspace(Protocol):
    """The files of one machine kernel: its folder on the machine, kept in step with the laptop."""

    @property
    def machine_dir(self) -> str:
        """The kernel's working directory, relative to the machine server's root (the home of
        the machine's user), e.g. ``cloudlab/work/project``; sent as the kernel's ``path``."""
        ...

    async def before_execute(self) -> None:
        """Local changes since the last push go to the machine first (only what changed). When
        nothing changed this must cost close to nothing: it runs before every cell."""
        ...

    def after_execute(self) -> None:
        """A cell ended (the kernel went idle): bring what the kernel wrote back, in the
        background. Never raises; problems are reported to the user by the workspace."""
        ...


class MachineFiles(Protocol):
    """One machine's workspace: where each kernel works, and its mirror."""

    async def open(self, notebook_path: str | None) -> KernelWorkspace:
        """The workspace of a kernel started for ``notebook_path`` (the local server's API path
        of the notebook, e.g. ``project/analysis.ipynb``; None for a console or a kernel with no
        notebook, which works in the workspace root). Mirrors the notebook's folder first, so the
        kernel starts beside its files."""
        ...
