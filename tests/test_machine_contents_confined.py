"""The machine's files, as its drive shows them, stop at the machine user's home: a symlink out
of it is not followed by the contents API nor by /files/ (the machine server's own classes)."""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.machine_server import MachineServerProcess, start_machine_server


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[MachineServerProcess]:
    server = start_machine_server(tmp_path / "machine")
    try:
        yield server
    finally:
        server.stop()


def status_of(server: MachineServerProcess, path: str) -> int:
    try:
        server.request("GET", path)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def test_symlinks_out_of_the_home_folder_are_not_followed(
    machine: MachineServerProcess, tmp_path: Path
) -> None:
    # Given another user's secret outside the home, and links to it and to a file at home
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours")
    (machine.home / "notes.txt").write_text("mine")
    (machine.home / "away").symlink_to(outside)
    (machine.home / "secret-link.txt").symlink_to(outside / "secret.txt")
    (machine.home / "notes-link.txt").symlink_to(machine.home / "notes.txt")

    # Then what stays at home reads as before, through a link too
    assert machine.request("GET", "api/contents/notes.txt")["content"] == "mine"
    assert machine.request("GET", "api/contents/notes-link.txt")["content"] == "mine"
    # And nothing behind a link that leaves home can be listed, read, downloaded or written
    assert status_of(machine, "api/contents/away") == 404
    assert status_of(machine, "api/contents/away/secret.txt") == 404
    assert status_of(machine, "api/contents/secret-link.txt") == 404
    assert status_of(machine, "files/secret-link.txt") in (403, 404)  # tornado says 403
    with pytest.raises(urllib.error.HTTPError) as refused:
        machine.request(
            "PUT",
            "api/contents/away/planted.txt",
            {"type": "file", "format": "text", "content": "x"},
        )
    assert refused.value.code == 404
    assert not (outside / "planted.txt").exists()
    # And the listing of home does not offer the links that lead out
    names = {entry["name"] for entry in machine.request("GET", "api/contents")["content"]}
    assert {"notes.txt", "notes-link.txt"} <= names
    assert not names & {"away", "secret-link.txt"}
