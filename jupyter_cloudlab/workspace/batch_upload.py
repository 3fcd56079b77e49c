"""Many small files in one stream: a tar archive piped to ``tar -x`` on the machine.

Over SFTP each file costs an open, a write, a time set and a close, one request after the other:
a first mirror of a thousand small files is bound by those round trips and by the per-packet
work, not by bytes. One archive over one SSH channel carries them all (as rsync does), and GNU
tar keeps each file's modification time, so the machine's stat is known without asking.

The archive is made here from files we chose (regular files only, names already checked by
paths.py), each read through the stat the push expects: a file that changed meanwhile is left
out (SFTP then sends it, or finds it changed). When the machine has no ``tar`` or runs no
commands, the caller sends everything over SFTP; a broken link fails the push as SFTP's would.
"""

from __future__ import annotations

import asyncio
import io
import os
import shlex
import stat
import tarfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import asyncssh

from .local_index import LocalStat
from .machine_index import MachineStat

ShellOpener = Callable[[], Awaitable[asyncssh.SSHClientConnection]]
"""The machine's SSH connection, for one command per batch (raises while the link is down)."""

SMALL_FILE_BYTES = 256 * 1024
"""Files up to this size go in archives; bigger ones are worth their own resumable transfer."""
BATCH_BYTES = 32 * 1024 * 1024
"""One archive holds at most this much (it is built in memory)."""
WORTH_A_BATCH = 8
"""Fewer small files than this go over SFTP: an archive costs a process on the machine."""
TAR_TIMEOUT_S = 300.0
TAR = "tar"
"""The machine's tar (GNU tar on the images we launch; BSD tar takes the same options)."""


class BatchFailed(Exception):
    """The machine cannot take archives (no tar, no commands): use SFTP for this link."""


def batches(
    files: Sequence[tuple[str, LocalStat]], limit: int = BATCH_BYTES
) -> list[list[tuple[str, LocalStat]]]:
    """Split FILES into lists of at most LIMIT bytes each (in order)."""
    out: list[list[tuple[str, LocalStat]]] = []
    size = 0
    for rel, st in files:
        if not out or size + st.size > limit:
            out.append([])
            size = 0
        out[-1].append((rel, st))
        size += st.size
    return out


def build_archive(
    local_dir: Path, files: Sequence[tuple[str, LocalStat]]
) -> tuple[bytes, list[str]]:
    """The archive of FILES (as they are under LOCAL_DIR), and the names it holds: a file whose
    stat moved since the walk, or that is gone, is left out."""
    buffer = io.BytesIO()
    held: list[str] = []
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for rel, expected in files:
            try:
                # The stat check below catches a file swapped (for a link out) since the walk.
                fd = os.open(local_dir.joinpath(*rel.split("/")), os.O_RDONLY)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as source:
                st = os.fstat(fd)
                if (st.st_size, st.st_mtime_ns, st.st_ino) != tuple(expected):
                    continue
                data = source.read(expected.size + 1)
            if len(data) != expected.size or not stat.S_ISREG(st.st_mode):
                continue
            info = tarfile.TarInfo(rel)
            info.size = expected.size
            # Whole seconds, as the machine's stat will say (SFTP v3 carries no finer).
            info.mtime = expected.mtime_ns // 1_000_000_000
            info.mode = stat.S_IMODE(st.st_mode)
            archive.addfile(info, io.BytesIO(data))
            held.append(rel)
    return buffer.getvalue(), held


async def send_batch(
    shell: ShellOpener, local_dir: Path, machine_dir: str, files: Sequence[tuple[str, LocalStat]]
) -> dict[str, MachineStat]:
    """Send FILES (all small) into MACHINE_DIR; the machine's stat of each file that arrived."""
    archive, held = await asyncio.to_thread(build_archive, local_dir, files)
    if not held:
        return {}
    folder = shlex.quote(machine_dir)
    # Relative to the home folder, where the machine server's root and SFTP's start are.
    command = f"mkdir -p -- {folder} && exec {TAR} -x --no-same-owner -f - -C {folder}"
    connection = await shell()  # a link that is down raises: the push fails and says so
    try:
        result = await asyncio.wait_for(
            connection.run(command, input=archive, encoding=None, check=False),
            TAR_TIMEOUT_S,
        )
    except asyncssh.ChannelOpenError as error:  # the machine runs no commands for us
        raise BatchFailed(error.reason) from error
    if result.exit_status != 0:
        stderr = result.stderr if isinstance(result.stderr, bytes) else b""
        raise BatchFailed(stderr.decode(errors="replace").strip()[:200] or "tar failed")
    stats = dict(files)
    return {rel: MachineStat(stats[rel].size, stats[rel].mtime_ns // 1_000_000_000) for rel in held}
