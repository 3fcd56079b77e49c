"""What the mirror leaves out (ignore rules, caches, the size limit) and the paths it refuses
(symlinks out, names that climb), against a real sshd; and how failures reach the user."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from jupyter_cloudlab.errors import CloudLabError
from jupyter_cloudlab.workspace.machine_index import list_machine
from jupyter_cloudlab.workspace.mirror import Mirror, MirrorNotice, MirrorSettings
from jupyter_cloudlab.workspace.paths import UnsafePath, check_relative, local_target
from tests.helpers.workspace_machine import workspace, write


async def test_ignore_files_and_the_usual_caches_stay_on_the_laptop(tmp_path: Path) -> None:
    async with workspace(tmp_path) as space:
        root = space.local_root
        # Given a repository-level rule above the folder, the folder's own rules, and caches
        write(root / ".gitignore", "*.secret\n")
        project = root / "project"
        write(project / ".gitignore", "build/\n*.log\n!keep.log\n")
        write(project / ".cloudlabignore", "data/raw/\n")
        write(project / "sub" / ".gitignore", "local_only.txt\n")
        for name in ["main.py", "keep.log", "data/clean.csv", "sub/mod.py"]:
            write(project / name, name)
        excluded = [
            "token.secret", "build/out.o", "debug.log", "data/raw/huge.bin",
            "sub/local_only.txt", ".git/HEAD", "__pycache__/m.pyc",
            ".ipynb_checkpoints/nb-checkpoint.ipynb", "node_modules/x/index.js",
            ".venv/bin/python", "env/pyvenv.cfg", "env/lib/site.py",
        ]  # fmt: skip
        for name in excluded:
            write(project / name, name)

        # When the folder is mirrored
        await space.mirror.open("project/nb.ipynb")

        # Then what the rules and the defaults exclude is not on the machine
        mirrored = space.on_machine("cloudlab/work/project")
        sent = sorted(str(p.relative_to(mirrored)) for p in mirrored.rglob("*") if p.is_file())
        assert sent == sorted(
            [".cloudlabignore", ".gitignore", "data/clean.csv", "keep.log", "main.py",
             "sub/.gitignore", "sub/mod.py"]
        )  # fmt: skip


async def test_past_the_size_limit_the_largest_files_are_left_out_and_named(
    tmp_path: Path,
) -> None:
    async with workspace(tmp_path, MirrorSettings(size_limit=10_000)) as space:
        project = space.local_root / "project"
        for n in range(5):
            write(project / f"small{n}.txt", "s" * 1000)
        write(project / "big.bin", b"b" * 8000)

        folder = await space.mirror.open("project/nb.ipynb")

        mirrored = space.on_machine("cloudlab/work/project")
        assert sorted(p.name for p in mirrored.iterdir()) == [f"small{n}.txt" for n in range(5)]
        [notice] = space.notices_of("left_out")
        assert "big.bin" in notice.message and "size limit" in notice.message
        # Told once, not before every cell
        write(project / "small0.txt", "t" * 1000)
        report = await folder.push()
        assert report.sent == ["small0.txt"] and report.left_out == ["big.bin"]
        assert len(space.notices_of("left_out")) == 1


async def test_symlinks_and_unsafe_names_never_lead_outside_the_folder(tmp_path: Path) -> None:
    async with workspace(tmp_path) as space:
        project = space.local_root / "project"
        outside = write(tmp_path / "outside" / "secret.txt", "laptop secret")
        write(project / "inside.txt", "in")
        os.symlink(outside, project / "link_out.txt")  # a file link out of the folder
        os.symlink(outside.parent, project / "dir_out")  # a folder link out
        os.symlink(project / "inside.txt", project / "link_in.txt")  # a link inside
        folder = await space.mirror.open("project/nb.ipynb")
        mirrored = space.on_machine("cloudlab/work/project")

        # Then a link out of the folder is never followed on the way to the machine
        assert sorted(p.name for p in mirrored.iterdir()) == ["inside.txt", "link_in.txt"]

        # When the machine offers symlinks to its /etc and a file under the local link out
        os.symlink("/etc", mirrored / "etc")
        os.symlink("/etc/hostname", mirrored / "hostname")
        write(mirrored / "dir_out" / "planted.txt", "from the machine")
        report = await folder.pull()

        # Then nothing is written outside the local folder, and the user is told
        assert not (outside.parent / "planted.txt").exists()
        assert not (project / "etc").exists() and not (project / "hostname").exists()
        assert sorted(report.refused) == ["dir_out/planted.txt", "etc", "hostname"]
        assert any("etc" in n.message for n in space.notices_of("failed"))


def test_names_that_climb_are_refused(tmp_path: Path) -> None:
    for bad in ["../x", "a/../../x", "/etc/passwd", "a//b", "a/\0", "..", ""]:
        with pytest.raises(UnsafePath):
            check_relative(bad)
    with pytest.raises(UnsafePath):
        local_target(tmp_path, "../escape.txt")
    assert local_target(tmp_path, "a/b.txt") == tmp_path / "a" / "b.txt"


class _Name:
    def __init__(self, filename: Any, kind: int) -> None:
        self.filename = filename
        self.attrs = asyncssh.SFTPAttrs(type=kind, size=1, mtime=1)


class _HostileSftp:
    """A machine whose listing carries names no honest sshd would send."""

    async def scandir(self, path: str) -> Any:
        for name in ["..", "a/b", "nul\0x", b"\xff-bytes", "ok.txt"]:
            yield _Name(name, asyncssh.FILEXFER_TYPE_REGULAR)


async def test_a_machine_listing_with_unsafe_names_is_refused_name_by_name() -> None:
    listing = await list_machine(_HostileSftp(), "w", lambda rel, is_dir: False)  # type: ignore[arg-type]
    assert list(listing.files) == ["ok.txt"]
    assert "a/b" in listing.refused and "nul\0x" in listing.refused


async def test_a_broken_link_fails_the_cell_with_a_sentence_and_a_pull_only_tells(
    tmp_path: Path,
) -> None:
    async def link_down() -> asyncssh.SFTPClient:
        raise ConnectionResetError("connection reset by peer")

    notices: list[MirrorNotice] = []
    write(tmp_path / "p" / "a.txt", "a")
    mirror = Mirror("m-1", link_down, tmp_path, MirrorSettings(), notices.append)
    with pytest.raises(CloudLabError, match="link may be down"):
        await mirror.open("p/nb.ipynb")

    # A pull in the background: a notice, nothing raised
    folder = mirror._folders["p"]
    from jupyter_cloudlab.workspace.pull import pull

    folder.schedule_pull(lambda: pull(folder))
    await folder.wait_pulls()
    assert [n.kind for n in notices] == ["failed"]
    await mirror.close()
