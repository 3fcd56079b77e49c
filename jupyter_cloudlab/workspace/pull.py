"""A pull: what the kernel wrote or changed under the machine folder comes back to the same place.

Never the other way round: a delete on the machine deletes nothing here (the laptop's folder is
the source; the next push sends the file again). Every machine name is checked before anything is
written (``paths.local_target``); symlinks and unsafe names on the machine are refused and told.
A file changed on both sides keeps the laptop's version in place and the machine's beside it.
"""

from __future__ import annotations

from .folder_sync import FolderSync, Synced, same_file
from .local_index import stat_one
from .machine_index import MachineStat, list_machine
from .paths import UnsafePath, conflict_name, local_target, machine_path
from .size_limit import reason
from .transfer import SourceChanged, download
from .vocabulary import SyncReport


async def pull(fs: FolderSync) -> SyncReport:
    async with fs.lock:
        sftp = await fs.link.sftp()
        with fs.link.activity:
            listing = await list_machine(sftp, fs.machine_dir, fs.rules.excluded)
            refused = list(listing.refused)
            wanted: list[tuple[str, MachineStat, bool]] = []
            for rel, current in sorted(listing.files.items()):
                entry = fs.synced.get(rel)
                if (entry is not None and entry.machine == current) or rel in fs.left_out:
                    continue
                local = stat_one(fs.local_dir, rel)
                if local is None and fs.local_dir.joinpath(*rel.split("/")).is_dir():
                    refused.append(rel)  # a folder here, a file there: not ours to decide
                    continue
                if entry is None and local is not None and same_file(local, current):
                    fs.synced[rel] = Synced(local, current)
                    continue
                conflict = local is not None and (entry is None or local != entry.local)
                wanted.append((rel, current, conflict))
            budget = fs.link.settings.size_limit - fs.local_total()
            fetch, left = [], []
            for rel, current, conflict in wanted:
                entry = fs.synced.get(rel)
                grows = current.size - (entry.local.size if entry and not conflict else 0)
                if grows > budget:
                    left.append(rel)
                else:
                    budget -= grows
                    fetch.append((rel, current, conflict))
            fs.tell_left_out(left, reason(fs.link.settings.size_limit))
            progress = fs.progress(sum(current.size for _, current, _ in fetch), "Fetching")
            sent, conflicts, count = [], [], 0
            for rel, current, conflict in fetch:
                name = conflict_name(fs.local_dir, rel) if conflict else rel
                try:
                    target = local_target(fs.local_dir, name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target = local_target(fs.local_dir, name)  # again, now that it exists
                    source = machine_path(fs.machine_dir, rel)
                    got = await download(sftp, source, current, target, fs.link.book, progress)
                except UnsafePath:
                    refused.append(rel)
                    continue
                except SourceChanged:
                    continue  # still being written: the next pull
                count += got.bytes
                if conflict:
                    entry = fs.synced.get(rel)
                    mine = entry.local if entry else stat_one(fs.local_dir, rel)
                    if mine is not None:
                        fs.synced[rel] = Synced(mine, current)
                    conflicts.append(name)
                    fs.tell(
                        "conflict",
                        f"{rel} changed on both sides: the machine's version is kept as {name}.",
                    )
                else:
                    fetched = stat_one(fs.local_dir, rel)
                    if fetched is not None:
                        fs.synced[rel] = Synced(fetched, current)
                    sent.append(rel)
            progress.finish()
            _forget_deleted_there(fs, set(listing.files) | set(listing.refused))
            _tell_refused(fs, refused)
            return SyncReport(
                "pull",
                fs.api_path,
                sent=sent,
                conflicts=conflicts,
                left_out=left,
                bytes=count,
                refused=refused,
            )


def _forget_deleted_there(fs: FolderSync, present: set[str]) -> None:
    """Files the kernel deleted stay here and are sent again at the next push."""
    gone = [rel for rel in fs.synced if rel not in present]
    for rel in gone:
        del fs.synced[rel]
    if gone:
        fs.mark(False)


def _tell_refused(fs: FolderSync, refused: list[str]) -> None:
    if refused and frozenset(refused) != fs.told_refused:
        fs.told_refused = frozenset(refused)
        fs.tell(
            "failed",
            "Not brought back from the machine (a symlink, an unsafe name, or a folder here): "
            + ", ".join(refused[:10])
            + ".",
        )
