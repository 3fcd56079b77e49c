"""A big file's transfer survives a real link cut (sshd's sessions killed mid-transfer): the
next push carries on from what arrived, verified by hash, and the file is hash-identical."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from jupyter_cloudlab.errors import CloudLabError
from jupyter_cloudlab.workspace import progress as progress_module
from jupyter_cloudlab.workspace.mirror import MirrorSettings
from jupyter_cloudlab.workspace.progress import Progress
from tests.helpers.sshd_cut import cut_link
from tests.helpers.workspace_machine import big_file, sha256_of, workspace, write

SIZE = 160 * 1024 * 1024
CUT_AFTER = 48 * 1024 * 1024


def _grows_to(path: Path, size: int, timeout_s: float = 60.0) -> bool:
    """Whether PATH reached SIZE bytes in time (polled from a thread, off the loop)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size >= size:
            return True
        time.sleep(0.002)
    return False


async def test_a_cut_mid_transfer_resumes_to_a_hash_identical_file(tmp_path: Path) -> None:
    async with workspace(tmp_path, MirrorSettings(machine_root="w")) as space:
        project = space.local_root / "project"
        write(project / "nb.ipynb", "{}")
        folder = await space.mirror.open("project/nb.ipynb")
        source = big_file(project / "weights.bin", SIZE)
        part = space.on_machine("w/project/.weights.bin.cloudlab-part")

        # When the link is cut once a third of the file has arrived
        push = asyncio.create_task(folder.before_execute())
        assert await asyncio.to_thread(_grows_to, part, CUT_AFTER), "no part file grew"
        assert not push.done(), "the transfer ended before the cut"
        assert space.mirror.busy
        await asyncio.to_thread(cut_link, f"/machines/{space.machine.instance_id}/", 1.0)

        # Then the cell's push fails with a sentence
        with pytest.raises(CloudLabError, match="link may be down"):
            await push
        assert not space.mirror.busy
        arrived = part.stat().st_size
        assert 0 < arrived < SIZE

        # When the next cell runs with the link back
        report = await folder.push()

        # Then the transfer carried on from what arrived instead of starting over
        assert report.sent == ["weights.bin"]
        assert report.bytes < SIZE
        assert report.bytes <= SIZE - CUT_AFTER + 16 * 1024 * 1024  # at most one slice again
        assert sha256_of(space.on_machine("w/project/weights.bin")) == sha256_of(source)
        assert not part.exists()
        # And any progress told was about this file's bytes
        assert all(n.total_bytes == SIZE for n in space.notices_of("progress"))


async def test_a_stale_part_of_another_version_is_not_resumed(tmp_path: Path) -> None:
    async with workspace(tmp_path, MirrorSettings(machine_root="w")) as space:
        project = space.local_root / "project"
        source = big_file(project / "data.bin", 40 * 1024 * 1024)
        # Given a part on the machine left by an older version (another session, no record)
        write(space.on_machine("w/project/.data.bin.cloudlab-part"), b"old" * 1_000_000)

        await space.mirror.open("project/nb.ipynb")

        assert sha256_of(space.on_machine("w/project/data.bin")) == sha256_of(source)


def test_progress_is_told_only_past_a_second_and_a_few_times_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    told: list[tuple[int, int, bool]] = []
    progress = Progress(1000, lambda done, total, final: told.append((done, total, final)))
    for _ in range(100):  # 10 s of 10 bytes every 0.1 s
        now[0] += 0.1
        progress.advance(10)
    progress.finish()
    assert told[0][0] >= 100 and not told[0][2]  # first word after a second
    assert len(told) <= 9 * 4 + 2  # at most four a second after that, and the last word
    assert told[-1] == (1000, 1000, True)
    quiet: list[object] = []
    short = Progress(10, lambda *told: quiet.append(told))
    short.advance(10)
    short.finish()
    assert quiet == []
