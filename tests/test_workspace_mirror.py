"""The workspace mirror against a real sshd: first mirror, pushes of only what changed, deletes,
pulls, conflicts, and a no-change check that costs no SFTP round trip."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from jupyter_cloudlab.workspace.mirror import MirrorSettings
from tests.helpers.workspace_machine import workspace, write


async def test_first_mirror_puts_the_notebooks_folder_under_the_workspace_root(
    tmp_path: Path,
) -> None:
    async with workspace(tmp_path) as space:
        # Given a notebook beside its helper and data, and a file elsewhere under the root
        project = space.local_root / "project"
        write(project / "analysis.ipynb", "{}")
        write(project / "helper.py", "X = 1\n")
        write(project / "data" / "train.csv", "a,b\n1,2\n")
        write(space.local_root / "elsewhere.txt", "not mirrored")

        # When a kernel opens for the notebook
        folder = await space.mirror.open("project/analysis.ipynb")

        # Then its working folder is the mirror of the notebook's folder, with the same files
        assert folder.machine_dir == "cloudlab/work/project"
        mirrored = space.on_machine("cloudlab/work/project")
        assert (mirrored / "helper.py").read_text() == "X = 1\n"
        assert (mirrored / "data" / "train.csv").read_text() == "a,b\n1,2\n"
        assert not space.on_machine("cloudlab/work/elsewhere.txt").exists()
        # And the machine's copy keeps the laptop's modification time (whole seconds)
        assert int((mirrored / "helper.py").stat().st_mtime) == int(
            (project / "helper.py").stat().st_mtime
        )


async def test_a_console_works_in_the_workspace_root_and_mirrors_nothing(tmp_path: Path) -> None:
    async with workspace(tmp_path) as space:
        write(space.local_root / "a.txt", "a")
        folder = await space.mirror.open(None)
        assert folder.machine_dir == "cloudlab/work"
        assert space.on_machine("cloudlab/work").is_dir()
        assert not space.on_machine("cloudlab/work/a.txt").exists()


async def test_a_push_sends_only_what_changed_and_a_local_delete_reaches_the_machine(
    tmp_path: Path,
) -> None:
    async with workspace(tmp_path) as space:
        project = space.local_root / "project"
        for n in range(20):
            write(project / f"f{n}.py", f"n = {n}\n")
        folder = await space.mirror.open("project/nb.ipynb")
        mirrored = space.on_machine("cloudlab/work/project")

        # When one file changes, one is added and one is deleted
        write(project / "f3.py", "n = 'three'\n")
        write(project / "new" / "g.py", "g = 1\n")
        (project / "f7.py").unlink()
        report = await folder.push()

        # Then only those travel
        assert sorted(report.sent) == ["f3.py", "new/g.py"]
        assert report.deleted == ["f7.py"]
        assert report.bytes == len("n = 'three'\n") + len("g = 1\n")
        assert (mirrored / "f3.py").read_text() == "n = 'three'\n"
        assert (mirrored / "new" / "g.py").read_text() == "g = 1\n"
        assert not (mirrored / "f7.py").exists()


async def test_a_no_change_check_before_a_cell_asks_nothing_of_the_machine(
    tmp_path: Path,
) -> None:
    async with workspace(tmp_path) as space:
        project = space.local_root / "project"
        for n in range(1000):
            write(project / f"d{n % 20}" / f"f{n}.txt", "x" * 100)
        folder = await space.mirror.open("project/nb.ipynb")
        await folder.before_execute()  # settles the watch after the first mirror

        # When cells run and nothing changed locally
        asked = space.sftp.calls
        started = time.perf_counter()
        for _ in range(100):
            await folder.before_execute()
        per_check = (time.perf_counter() - started) / 100

        # Then no SFTP session is even asked for
        assert space.sftp.calls == asked
        print(f"no-change before_execute, 1,000 files: {per_check * 1e6:.0f} µs")

        # And a change after that is still seen before the next cell
        write(project / "d3" / "f3.txt", "changed")
        await folder.before_execute()
        assert space.sftp.calls > asked
        assert space.on_machine("cloudlab/work/project/d3/f3.txt").read_text() == "changed"


async def test_what_the_kernel_writes_comes_back_after_the_cell(tmp_path: Path) -> None:
    async with workspace(tmp_path) as space:
        project = space.local_root / "project"
        write(project / "nb.ipynb", "{}")
        folder = await space.mirror.open("project/nb.ipynb")
        mirrored = space.on_machine("cloudlab/work/project")

        # Given a cell that wrote a plot and a CSV in a new folder
        write(mirrored / "out.png", b"\x89PNG fake")
        write(mirrored / "results" / "table.csv", "x\n1\n")

        # When the kernel goes idle (twice: the pulls coalesce)
        folder.after_execute()
        folder.after_execute()
        await folder.pulled()

        # Then both are here, at the same place
        assert (project / "out.png").read_bytes() == b"\x89PNG fake"
        assert (project / "results" / "table.csv").read_text() == "x\n1\n"
        # And they are not sent back by the next cell
        report = await folder.push()
        assert report.sent == []


async def test_a_delete_on_the_machine_never_deletes_a_local_file(tmp_path: Path) -> None:
    async with workspace(tmp_path) as space:
        project = space.local_root / "project"
        write(project / "keep.txt", "mine")
        folder = await space.mirror.open("project/nb.ipynb")
        space.on_machine("cloudlab/work/project/keep.txt").unlink()

        report = await folder.pull()

        assert (project / "keep.txt").read_text() == "mine"
        assert report.sent == []
        # The laptop is the folder's source: the next push sends it again
        assert (await folder.push()).sent == ["keep.txt"]


async def test_a_file_changed_on_both_sides_keeps_both_and_says_which(tmp_path: Path) -> None:
    async with workspace(tmp_path) as space:
        project = space.local_root / "project"
        write(project / "notes.md", "v1")
        folder = await space.mirror.open("project/nb.ipynb")
        machine_copy = space.on_machine("cloudlab/work/project/notes.md")

        # Given the same file changed by the kernel and by the user
        write(machine_copy, "kernel's v2")
        os.utime(machine_copy, (time.time() + 5, time.time() + 5))
        write(project / "notes.md", "user's v2")

        # When the kernel's side comes back
        report = await folder.pull()

        # Then the user's version stays in place, the machine's is kept beside it
        assert report.conflicts == ["notes (machine).md"]
        assert (project / "notes.md").read_text() == "user's v2"
        assert (project / "notes (machine).md").read_text() == "kernel's v2"
        [notice] = space.notices_of("conflict")
        assert "notes.md" in notice.message and "notes (machine).md" in notice.message
        # And the next push sends the user's version
        await folder.push()
        assert machine_copy.read_text() == "user's v2"


async def test_a_conflict_found_by_a_push_keeps_both_too(tmp_path: Path) -> None:
    async with workspace(tmp_path) as space:
        project = space.local_root / "project"
        write(project / "cfg.yaml", "a: 1\n")
        folder = await space.mirror.open("project/nb.ipynb")
        machine_copy = space.on_machine("cloudlab/work/project/cfg.yaml")
        write(machine_copy, "a: 2  # kernel\n")
        os.utime(machine_copy, (time.time() + 5, time.time() + 5))
        write(project / "cfg.yaml", "a: 3  # user\n")

        report = await folder.push()

        assert report.conflicts == ["cfg (machine).yaml"]
        assert (project / "cfg (machine).yaml").read_text() == "a: 2  # kernel\n"
        assert machine_copy.read_text() == "a: 3  # user\n"


async def test_git_scope_mirrors_the_repository_and_works_in_the_notebooks_folder(
    tmp_path: Path,
) -> None:
    settings = MirrorSettings(scope="git", machine_root="work")
    async with workspace(tmp_path, settings) as space:
        repo = space.local_root / "repo"
        (repo / ".git").mkdir(parents=True)
        write(repo / ".git" / "HEAD", "ref: refs/heads/main\n")
        write(repo / "lib" / "util.py", "u = 1\n")
        write(repo / "notebooks" / "nb.ipynb", "{}")

        folder = await space.mirror.open("repo/notebooks/nb.ipynb")

        assert folder.machine_dir == "work/repo/notebooks"
        assert space.on_machine("work/repo/lib/util.py").read_text() == "u = 1\n"
        assert not space.on_machine("work/repo/.git").exists()


async def test_two_notebooks_of_a_folder_share_its_mirror(tmp_path: Path) -> None:
    async with workspace(tmp_path) as space:
        write(space.local_root / "p" / "a.txt", "a")
        first = await space.mirror.open("p/one.ipynb")
        second = await space.mirror.open("p/two.ipynb")
        write(space.local_root / "p" / "b.txt", "b")
        assert (await first.push()).sent == ["b.txt"]
        assert (await second.push()).sent == []
        await asyncio.sleep(0)


async def test_back_to_back_cells_bring_files_back_once_the_kernel_is_quiet(
    tmp_path: Path,
) -> None:
    async with workspace(tmp_path) as space:
        project = space.local_root / "project"
        write(project / "nb.ipynb", "{}")
        folder = await space.mirror.open("project/nb.ipynb")
        asked_before = space.sftp.calls

        # Given cells run back to back ("Run all"), the last of them writing a file
        for _ in range(5):
            await folder.before_execute()
            folder.after_execute()
            await asyncio.sleep(0.05)
        write(space.on_machine("cloudlab/work/project/out.csv"), "x\n1\n")

        # Then no pull ran between them (it would list the machine folder on the relay's loop)
        assert space.sftp.calls == asked_before
        # And once the kernel is quiet the file comes back, by one pull
        await folder.pulled()
        assert (project / "out.csv").read_text() == "x\n1\n"
        assert space.sftp.calls > asked_before
