"""Small files travel in archives (one `tar -x` on the machine per batch) when the machine runs
commands; SFTP carries them when it cannot, and big files always go their resumable way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_cloudlab.workspace import batch_upload
from tests.helpers.workspace_machine import big_file, sha256_of, workspace, write


def small_project(root: Path, count: int) -> Path:
    project = root / "project"
    for n in range(count):
        write(project / f"pkg{n % 4}" / f"mod{n}.py", f"VALUE = {n}\n")
    write(project / "run.sh", "#!/bin/sh\necho hi\n").chmod(0o755)
    write(project / "nb.ipynb", "{}")
    return project


async def test_a_first_mirror_of_small_files_is_one_archive(tmp_path: Path) -> None:
    async with workspace(tmp_path, shell=True) as space:
        # Given a folder of many small files and one big one
        project = small_project(space.local_root, 60)
        big_file(project / "weights.bin", 2 * 1024 * 1024)

        # When its notebook's kernel opens
        folder = await space.mirror.open("project/nb.ipynb")

        # Then every file is on the machine, same bytes, same time (whole seconds) and mode
        mirrored = space.on_machine("cloudlab/work/project")
        for n in range(60):
            assert (mirrored / f"pkg{n % 4}" / f"mod{n}.py").read_text() == f"VALUE = {n}\n"
        assert int((mirrored / "pkg1" / "mod1.py").stat().st_mtime) == int(
            (project / "pkg1" / "mod1.py").stat().st_mtime
        )
        assert os.access(mirrored / "run.sh", os.X_OK)
        assert sha256_of(mirrored / "weights.bin") == sha256_of(project / "weights.bin")
        # And the small ones went as one archive, over one command
        assert space.sftp.shell_calls == 1
        # And nothing is sent again by the next cell
        assert (await folder.push()).sent == []


async def test_without_tar_on_the_machine_sftp_carries_the_small_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_upload, "TAR", "no-such-tar-here")
    async with workspace(tmp_path, shell=True) as space:
        small_project(space.local_root, 20)

        report = await (await space.mirror.open("project/nb.ipynb")).push()
        # The first push (at open) sent them; this one finds nothing to do
        assert report.sent == []

        mirrored = space.on_machine("cloudlab/work/project")
        assert (mirrored / "pkg3" / "mod19.py").read_text() == "VALUE = 19\n"
        # And archives are not tried again on this link
        write(space.local_root / "project" / "later" / "a.py", "A = 1\n")
        for n in range(10):
            write(space.local_root / "project" / "later" / f"b{n}.py", "B = 1\n")
        await (await space.mirror.open("project/nb.ipynb")).push()
        assert space.sftp.shell_calls == 1
        assert (mirrored / "later" / "b9.py").read_text() == "B = 1\n"


def test_a_file_that_changed_since_the_walk_is_left_out_of_the_archive(tmp_path: Path) -> None:
    from jupyter_cloudlab.workspace.local_index import LocalStat

    one = write(tmp_path / "one.py", "1\n")
    two = write(tmp_path / "two.py", "2\n")
    expected = [
        (name, LocalStat(*_stat(path))) for name, path in (("one.py", one), ("two.py", two))
    ]
    write(two, "changed meanwhile\n")

    _, held = batch_upload.build_archive(tmp_path, expected)

    assert held == ["one.py"]


def _stat(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def test_batches_hold_at_most_their_bytes_and_every_file_once() -> None:
    from jupyter_cloudlab.workspace.local_index import LocalStat

    files = [(f"f{n}", LocalStat(size, 0, n)) for n, size in enumerate([0, 0, 40, 30, 50, 0, 100])]

    split = batch_upload.batches(files, limit=100)

    assert [[rel for rel, _ in batch] for batch in split] == [
        ["f0", "f1", "f2", "f3"],
        ["f4", "f5"],
        ["f6"],
    ]
