"""Secrets stay secret: the client key is 0600 and never logged; the machine server token never printed."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from jupyter_cloudlab.ssh.bootstrap import BootstrapOptions, bootstrap
from jupyter_cloudlab.ssh.client_key import load_or_create_client_key
from tests.helpers.ssh_machines import rig


def test_client_key_is_private_from_creation_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "cloudlab" / "id_ed25519"
    load_or_create_client_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)  # someone loosened it
    load_or_create_client_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_no_secret_reaches_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig(tmp_path) as machine:
        connection = await machine.connect()
        machine_server = await bootstrap(connection, BootstrapOptions(env_roots=()))
        connection.close()
    private = machine.client_key.export_private_key().decode()
    secret_line = private.splitlines()[1]
    logged = caplog.text + repr(machine_server)
    assert machine_server.token not in logged
    assert secret_line not in logged
