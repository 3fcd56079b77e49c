"""Resumable transfers of one file over SFTP, in either direction.

A file is written under a temporary name (``.name.cloudlab-part``, same folder) and renamed into
place once whole, so a reader never sees half a file. The bytes go in slices of SLICE_BYTES, each
sent by asyncssh as up to MAX_REQUESTS pipelined requests; after each slice the contiguous prefix
known to have arrived is written in the ``ResumeBook``. When the link breaks, the next try carries
on from that prefix (or, with no record, from the part's size) once a sha256 of the prefix on both
sides agrees (the machine's is read back over SFTP: the link costs bytes down, never a resend).
A download resumes when the machine's file still has the size and mtime it had.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import asyncssh

from .local_index import LocalStat, stat_one
from .machine_index import MachineStat, machine_stat
from .paths import part_of
from .progress import Progress

SLICE_BYTES = 16 * 1024 * 1024
MAX_REQUESTS = 128
HASH_READ_BYTES = 4 * 1024 * 1024


class SourceChanged(Exception):
    """The file changed while it was being sent: not sent now, the next sync sends it."""


class _Point(NamedTuple):
    source: tuple[int, ...]
    """The source's stat when the transfer began: a resume needs the same source."""
    arrived: int


@dataclass
class ResumeBook:
    """How far each unfinished transfer got, by destination path (kept per Mirror, in memory)."""

    points: dict[str, _Point] = field(default_factory=dict)

    def arrived(self, dest: str, source: tuple[int, ...]) -> int | None:
        """The prefix known to have arrived for this very source; None when unknown."""
        point = self.points.get(dest)
        return point.arrived if point is not None and point.source == source else None


@dataclass(frozen=True)
class Sent:
    bytes: int
    """Bytes that crossed the link (a resumed transfer sends fewer than the file's size)."""
    resumed_from: int


async def upload(
    sftp: asyncssh.SFTPClient,
    source: Path,
    expected: LocalStat,
    dest: str,
    book: ResumeBook,
    progress: Progress,
) -> tuple[Sent, MachineStat]:
    """Send SOURCE (whose stat must still be EXPECTED) to DEST on the machine."""
    part = part_of(dest)
    key = tuple(expected)
    known = book.arrived(dest, key)
    start = 0
    if known is not None or expected.size > SLICE_BYTES:  # a small file is not worth a look
        start = await _upload_resume_offset(sftp, source, expected, part, known)
    progress.advance(start)
    book.points[dest] = _Point(key, start)
    local = os.open(source, os.O_RDONLY)
    try:
        async with sftp.open(part, "r+b" if start else "wb", max_requests=MAX_REQUESTS) as f:
            offset = start
            while offset < expected.size:
                data = os.pread(local, min(SLICE_BYTES, expected.size - offset), offset)
                if not data:
                    raise SourceChanged(str(source))
                await f.write(data, offset)
                offset += len(data)
                book.points[dest] = _Point(key, offset)
                progress.advance(len(data))
            if start:
                await f.truncate(expected.size)
    finally:
        os.close(local)
    if stat_one(source.parent, source.name) != expected:
        raise SourceChanged(str(source))
    # Whole seconds: what SFTP v3 keeps, so the machine's stat is known without asking.
    mtime = expected.mtime_ns // 1_000_000_000
    await sftp.utime(part, times=(mtime, mtime))
    await sftp.posix_rename(part, dest)
    book.points.pop(dest, None)
    return Sent(expected.size - start, start), MachineStat(expected.size, mtime)


async def _upload_resume_offset(
    sftp: asyncssh.SFTPClient, source: Path, expected: LocalStat, part: str, known: int | None
) -> int:
    try:
        on_machine = (await sftp.stat(part)).size or 0
    except asyncssh.SFTPNoSuchFile:
        return 0
    candidate = min(on_machine, expected.size, known if known is not None else on_machine)
    if candidate <= 0:
        return 0
    async with sftp.open(part, "rb", max_requests=MAX_REQUESTS) as f:
        machine_hash = hashlib.sha256()
        offset = 0
        while offset < candidate:
            data = await f.read(min(HASH_READ_BYTES, candidate - offset), offset)
            if not isinstance(data, bytes) or not data:
                return 0
            machine_hash.update(data)
            offset += len(data)
    return candidate if machine_hash.digest() == _local_prefix_hash(source, candidate) else 0


def _local_prefix_hash(source: Path, length: int) -> bytes:
    digest = hashlib.sha256()
    with open(source, "rb") as f:
        while length > 0:
            data = f.read(min(HASH_READ_BYTES, length))
            if not data:
                break
            digest.update(data)
            length -= len(data)
    return digest.digest()


async def download(
    sftp: asyncssh.SFTPClient,
    source: str,
    expected: MachineStat,
    target: Path,
    book: ResumeBook,
    progress: Progress,
) -> Sent:
    """Fetch SOURCE (whose stat must still be EXPECTED) from the machine to TARGET (checked by
    the caller to lie inside the mirrored folder)."""
    part = target.parent / f".{target.name}.cloudlab-part"
    key = tuple(expected)
    known = book.arrived(str(target), key)
    start = 0
    if known is not None:
        with contextlib.suppress(OSError):
            start = min(known, part.stat().st_size)
    progress.advance(start)
    book.points[str(target)] = _Point(key, start)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (0 if start else os.O_TRUNC)
    fd = os.open(part, flags, 0o644)
    try:
        async with sftp.open(source, "rb", max_requests=MAX_REQUESTS) as f:
            offset = start
            while offset < expected.size:
                data = await f.read(min(SLICE_BYTES, expected.size - offset), offset)
                if not isinstance(data, bytes) or not data:
                    raise SourceChanged(source)
                os.pwrite(fd, data, offset)
                offset += len(data)
                book.points[str(target)] = _Point(key, offset)
                progress.advance(len(data))
        os.ftruncate(fd, expected.size)
    finally:
        os.close(fd)
    if machine_stat(await sftp.stat(source)) != expected:
        raise SourceChanged(source)
    os.utime(part, (expected.mtime, expected.mtime))
    os.replace(part, target)
    book.points.pop(str(target), None)
    return Sent(expected.size - start, start)
