"""A push: local changes since the last sync go to the machine, and only those.

Order: walk (cheap compare with the last sync; no SFTP at all when nothing changed), apply the
size limit, look at the machine's side of the changed files (a stat each, or one listing when
many changed), keep both versions where the machine changed a file too, delete on the machine
what was deleted here, then send: small files in archives when the machine has a shell
(batch_upload.py), the others SEND_AT_ONCE at a time over SFTP, resumable.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections.abc import Awaitable, Iterable

import asyncssh

from ..errors import CloudLabError, ErrorKind
from .batch_upload import SMALL_FILE_BYTES, WORTH_A_BATCH, BatchFailed, batches, send_batch
from .folder_sync import FolderSync, Synced, link_broken, same_file
from .local_index import LocalIndex, LocalStat
from .machine_index import MachineStat, list_machine, machine_stat
from .paths import conflict_name, local_target, machine_path
from .progress import Progress
from .size_limit import over_the_limit, reason
from .transfer import SourceChanged, download, upload
from .vocabulary import SyncReport

log = logging.getLogger(__name__)

SEND_AT_ONCE = 16
LIST_WHEN_MORE_THAN = 32
"""Past this many changed files one listing of the machine folder beats a stat per file."""


def changes(fs: FolderSync, index: LocalIndex) -> tuple[list[str], list[str]]:
    """(changed or new, deleted) since the last sync, without what the size limit keeps here."""
    changed = [
        rel
        for rel, st in index.files.items()
        if (rel not in fs.synced or fs.synced[rel].local != st) and fs.left_out.get(rel) != st
    ]
    return changed, [rel for rel in fs.synced if rel not in index.files]


async def push(fs: FolderSync) -> SyncReport:
    async with fs.lock:
        index = fs.walk()
        changed, deleted = changes(fs, index)
        if not changed and not deleted:
            fs.mark(True)
            return SyncReport("push", fs.api_path)
        try:
            with fs.link.activity:
                return await _push(fs, index, changed, deleted)
        except CloudLabError:
            raise
        except Exception as error:
            if not link_broken(error):
                raise
            raise CloudLabError(
                f"Sending {fs.api_path or 'the workspace'} to the machine failed ({error}). The "
                "link may be down: run the cell again once it is back; big files carry on "
                "where they stopped.",
                ErrorKind.unavailable,
            ) from error


async def _push(
    fs: FolderSync, index: LocalIndex, changed: list[str], deleted: list[str]
) -> SyncReport:
    left = over_the_limit(index.files, fs.link.settings.size_limit)
    fs.left_out = {rel: index.files[rel] for rel in left}
    fs.tell_left_out(left, reason(fs.link.settings.size_limit))
    to_send = [rel for rel in changed if rel not in fs.left_out]
    sftp = await fs.link.sftp()
    on_machine = await _machine_side(fs, sftp, [*to_send, *deleted], index)
    deleted_there: list[str] = []
    conflicts: list[str] = []
    for rel in deleted:
        entry = fs.synced.pop(rel)
        current = on_machine.get(rel)
        # Changed there since: the kernel's version stays (a pull brings it back beside ours).
        if current is not None and current == entry.machine:
            await sftp.remove(machine_path(fs.machine_dir, rel))
            deleted_there.append(rel)
    sending: list[str] = []
    for rel in to_send:
        local, current = index.files[rel], on_machine.get(rel)
        known = fs.synced.get(rel)
        if current is not None and known is None and same_file(local, current):
            fs.synced[rel] = Synced(local, current)  # already there (an earlier session's push)
            continue
        machine_changed = current is not None and (
            current != known.machine if known else current.mtime > local.mtime_ns // 10**9
        )
        if machine_changed and current is not None:
            conflicts.append(await _keep_machine_copy(fs, sftp, rel, current))
        sending.append(rel)
    progress = fs.progress(sum(index.files[rel].size for rel in sending), "Sending")
    batched = await _send_small_ones(fs, index, sending, progress)
    one_by_one = [rel for rel in sending if rel not in batched]
    await _make_folders(sftp, fs.machine_dir, one_by_one)
    jobs = (_send(fs, sftp, rel, index.files[rel], progress) for rel in one_by_one)
    results = [*(index.files[rel].size for rel in batched), *await _at_most(SEND_AT_ONCE, jobs)]
    progress.finish()
    sending = [*batched, *one_by_one]
    sent = [rel for rel, count in zip(sending, results, strict=True) if count is not None]
    fs.mark(len(sent) == len(sending))
    return SyncReport(
        "push",
        fs.api_path,
        sent=sent,
        deleted=deleted_there,
        conflicts=conflicts,
        left_out=left,
        bytes=sum(count or 0 for count in results),
    )


async def _send_small_ones(
    fs: FolderSync, index: LocalIndex, sending: list[str], progress: Progress
) -> list[str]:
    """Send the small files of SENDING in archives (see batch_upload.py); those that arrived.
    Without a shell on the machine, or with too few of them, none: SFTP sends them all."""
    shell = fs.link.shell
    small = [
        (rel, index.files[rel]) for rel in sending if index.files[rel].size <= SMALL_FILE_BYTES
    ]
    if shell is None or len(small) < WORTH_A_BATCH:
        return []
    arrived: list[str] = []
    for batch in batches(small):
        try:
            stats = await send_batch(shell, fs.local_dir, fs.machine_dir, batch)
        except BatchFailed as error:
            log.info("Archive to %s not sent (%s): SFTP sends its files", fs.machine_dir, error)
            fs.link.shell = None  # no tar there, or no exec: not tried again on this link
            break
        for rel, machine in stats.items():
            fs.synced[rel] = Synced(index.files[rel], machine)
            progress.advance(machine.size)
            arrived.append(rel)
    return arrived


async def _machine_side(
    fs: FolderSync, sftp: asyncssh.SFTPClient, rels: list[str], index: LocalIndex
) -> dict[str, MachineStat]:
    if len(rels) > LIST_WHEN_MORE_THAN:
        return (await list_machine(sftp, fs.machine_dir, fs.rules.excluded)).files

    async def one(rel: str) -> MachineStat | None:
        try:
            return machine_stat(await sftp.lstat(machine_path(fs.machine_dir, rel)))
        except asyncssh.SFTPNoSuchFile:
            return None

    found = await asyncio.gather(*(one(rel) for rel in rels))
    return {rel: st for rel, st in zip(rels, found, strict=True) if st is not None}


async def _keep_machine_copy(
    fs: FolderSync, sftp: asyncssh.SFTPClient, rel: str, current: MachineStat
) -> str:
    """The machine's version of REL, changed there and here, saved beside the laptop's."""
    copy = conflict_name(fs.local_dir, rel)
    target = local_target(fs.local_dir, copy)
    source = machine_path(fs.machine_dir, rel)
    await download(sftp, source, current, target, fs.link.book, Progress(current.size, _quiet))
    fs.tell("conflict", f"{rel} changed on both sides: the machine's version is kept as {copy}.")
    return copy


def _quiet(done: int, total: int, final: bool) -> None:
    """Progress nobody hears (a conflict copy is told by its own notice)."""


async def _make_folders(sftp: asyncssh.SFTPClient, machine_dir: str, rels: list[str]) -> None:
    folders = {posixpath.dirname(machine_path(machine_dir, rel)) for rel in rels}
    for folder in sorted(folders):
        await sftp.makedirs(folder, exist_ok=True)


async def _send(
    fs: FolderSync, sftp: asyncssh.SFTPClient, rel: str, local: LocalStat, progress: Progress
) -> int | None:
    """Bytes sent for REL; None when it changed while sent (the next push sends it)."""
    try:
        source = fs.local_dir.joinpath(*rel.split("/"))
        dest = machine_path(fs.machine_dir, rel)
        sent, machine = await upload(sftp, source, local, dest, fs.link.book, progress)
    except SourceChanged:
        return None
    fs.synced[rel] = Synced(local, machine)
    return sent.bytes


async def _at_most(limit: int, jobs: Iterable[Awaitable[int | None]]) -> list[int | None]:
    """Run JOBS, LIMIT at a time, results in order; the first failure cancels the rest."""
    gate = asyncio.Semaphore(limit)

    async def gated(job: Awaitable[int | None]) -> int | None:
        async with gate:
            return await job

    tasks = [asyncio.ensure_future(gated(job)) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
