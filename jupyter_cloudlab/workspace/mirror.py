"""One machine's workspace mirror: the classes the machines and kernel layers use.

A notebook's folder (or its git repository, per ``MirrorSettings.scope``) under the local server's
root is mirrored to ``<machine root>/<same relative path>`` on the machine (``machine_root``
defaults to ``cloudlab/work``, relative to the machine user's home, which is the machine server's
root dir). Pushes send what changed locally (a local delete reaches the machine); pulls bring back
what the kernel wrote (a delete on the machine never deletes a local file); a file changed on both
sides keeps both versions (the machine's as ``name (machine).ext``) and is reported.

Costs: ``before_execute`` with nothing changed is one non-blocking inotify read (see
``local_watch``), no walk and no SFTP round trip; when something may have changed, a stat walk
(~2 ms per 1,000 files) decides what to send.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import asyncssh

from ..errors import CloudLabError, ErrorKind
from .batch_upload import ShellOpener
from .folder_sync import FolderSync, MachineLink, link_broken
from .pull import pull as pull_folder
from .push import push as push_folder
from .scope import machine_folder, scope_of
from .vocabulary import (
    DEFAULT_MACHINE_ROOT,
    DEFAULT_SIZE_LIMIT,
    MirrorNotice,
    MirrorSettings,
    SftpOpener,
    SyncReport,
)

__all__ = [
    "DEFAULT_MACHINE_ROOT",
    "DEFAULT_SIZE_LIMIT",
    "Mirror",
    "MirrorNotice",
    "MirrorSettings",
    "MirroredFolder",
    "SftpOpener",
    "SyncReport",
]

log = logging.getLogger(__name__)
TRANSFER_MARKER = ".cloudlab/transfer-active"
"""Relative to the machine user's home; machine_side/cloudlab_guard.py reads it."""


class Mirror:
    """The workspace of one machine. Implements kernels.kernel_files.MachineFiles."""

    def __init__(
        self,
        machine_id: str,
        sftp: SftpOpener,
        local_root: Path,
        settings: MirrorSettings,
        notify: Callable[[MirrorNotice], None],
        shell: ShellOpener | None = None,
    ) -> None:
        self._link = MachineLink(machine_id, sftp, notify, settings, shell)
        self._link.activity.mark = self._mark_transfer  # the machine's idle stop waits for it
        self._local_root = Path(local_root)
        self._folders: dict[str, FolderSync] = {}
        """One per mirrored folder: two notebooks of a folder share its mirror."""

    @property
    def busy(self) -> bool:
        """Whether a push or pull is moving files now (the machine is not idle meanwhile)."""
        return self._link.activity.running > 0

    async def open(self, notebook_path: str | None) -> MirroredFolder:
        settings = self._link.settings
        root = machine_folder(settings.machine_root, "")
        if notebook_path is None or not settings.enabled:
            await self._make_folder(root)
            return MirroredFolder(None, root)
        scope = scope_of(self._local_root, notebook_path, settings.scope)
        folder = self._folders.get(scope.mirrored)
        if folder is None:
            local = self._local_root.joinpath(*scope.mirrored.split("/"))
            remote = machine_folder(settings.machine_root, scope.mirrored)
            folder = FolderSync(self._link, local, self._local_root, scope.mirrored, remote)
            self._folders[scope.mirrored] = folder
        view = MirroredFolder(folder, machine_folder(settings.machine_root, scope.working))
        await view.push()  # the kernel starts beside its files
        await self._make_folder(view.machine_dir)  # even when the folder is empty
        return view

    async def close(self) -> None:
        """Stop background pulls (the link is going away); never raises."""
        for folder in self._folders.values():
            with contextlib.suppress(Exception):
                await folder.close()

    async def _mark_transfer(self, active: bool) -> None:
        """Touch (or remove) the machine's ~/.cloudlab/transfer-active (see progress.Activity)."""
        sftp = await self._link.sftp()
        if active:
            async with sftp.open(TRANSFER_MARKER, "w"):
                pass
        else:
            with contextlib.suppress(FileNotFoundError, asyncssh.SFTPNoSuchFile):
                await sftp.remove(TRANSFER_MARKER)

    async def _make_folder(self, path: str) -> None:
        try:
            sftp = await self._link.sftp()
            await sftp.makedirs(path, exist_ok=True)
        except Exception as error:
            if not link_broken(error):
                raise
            raise CloudLabError(
                f"The workspace folder {path} could not be made on the machine ({error}).",
                ErrorKind.unavailable,
            ) from error


class MirroredFolder:
    """One mirrored folder; implements kernels.kernel_files.KernelWorkspace."""

    def __init__(self, folder: FolderSync | None, machine_dir: str) -> None:
        self._folder = folder
        self._machine_dir = machine_dir

    @property
    def machine_dir(self) -> str:
        return self._machine_dir

    async def before_execute(self) -> None:
        if self._folder is None:
            return
        self._folder.postpone_pull()
        if self._folder.needs_push():
            await push_folder(self._folder)

    def after_execute(self) -> None:
        folder = self._folder
        if folder is None:
            return
        try:
            folder.schedule_pull(lambda: pull_folder(folder))
        except Exception:  # no running loop, or the like: never the relay's problem
            log.exception("could not schedule a pull of %s", folder.api_path)

    async def push(self) -> SyncReport:
        if self._folder is None:
            return SyncReport("push", "")
        return await push_folder(self._folder)

    async def pull(self) -> SyncReport:
        """Bring back what the kernel wrote, now (``after_execute`` does it in the background).
        Failures of the link raise here; in the background they are only a notice."""
        if self._folder is None:
            return SyncReport("pull", "")
        return await pull_folder(self._folder)

    async def pulled(self) -> None:
        """Until the background pulls ``after_execute`` scheduled have ended."""
        if self._folder is not None:
            await self._folder.wait_pulls()
