"""The bootstrap on a machine that runs systemd (as EC2 images do): the machine server is a unit, it
outlives the SSH session, comes back by itself after a reboot, and its log can be fetched."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_cloudlab.pytest_plugin import cloudlab_require
from jupyter_cloudlab.ssh.bootstrap import BootstrapOptions, bootstrap, fetch_server_log
from tests.helpers.ssh_machines import LAYOUTS, VENV_BIN, machine_server_kernelspecs, rig
from tests.helpers.systemd_machine import SystemdMachineHost, systemd_available

NO_ENVS = BootstrapOptions(env_roots=())


def systemd_host(root: Path) -> SystemdMachineHost:
    cloudlab_require(
        systemd_available(),
        "a systemd machine needs root, systemd, sshd and unshare",
        "install systemd and openssh-server, run as root",
    )
    return SystemdMachineHost(root / "machines", python_bin_dir=VENV_BIN)


@pytest.fixture
def short_root() -> Iterator[Path]:
    """Machines whose homes are as short as EC2's, so the server's socket is the home's own
    ~/.cloudlab/gateway.sock (which the unit started at boot binds again), not a folder in
    /tmp (pytest's folders are too deep for sun_path's 108 bytes)."""
    root = Path(tempfile.mkdtemp(prefix="m", dir="/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("user", LAYOUTS)
async def test_machine_server_is_a_systemd_unit_that_survives_sessions_and_reboots(
    short_root: Path, user: str
) -> None:
    async with rig(short_root, user, systemd_host(short_root)) as machine:
        host = machine.host
        assert isinstance(host, SystemdMachineHost)
        # Given a machine whose init is systemd and whose user may run systemctl
        connection = await machine.connect()

        # When it is bootstrapped
        first = await bootstrap(connection, NO_ENVS)

        # Then the machine server runs as an enabled systemd unit, and answers, on its home's
        # socket
        assert first.service == "systemd" and not first.reused
        assert first.socket == str(machine.disk / "home" / user / ".cloudlab" / "gateway.sock")
        unit = "cloudlab-gateway-root.service"  # the machine user is a uid-0 alias here
        assert await host.systemctl(machine.instance_id, "is-active", unit) == "active"
        assert await host.systemctl(machine.instance_id, "is-enabled", unit) == "enabled"
        assert "python3" in await machine_server_kernelspecs(connection, first)

        # When the SSH session ends, Then systemd keeps the machine server running
        connection.close()
        await connection.wait_closed()
        connection = await machine.connect()
        again = await bootstrap(connection, NO_ENVS)
        assert again.reused and (again.socket, again.token) == (first.socket, first.token)
        connection.close()

        # When the machine is power-cycled (every process dies), Then systemd starts the
        # machine_server at boot: the next bootstrap uses that one (same socket and token), starts none
        await machine.power_cycle()
        assert await host.systemctl(machine.instance_id, "is-enabled", unit) == "enabled"
        connection = await machine.connect()
        resumed = await bootstrap(connection, NO_ENVS)
        assert resumed.reused and not resumed.installed and resumed.service == "systemd"
        assert (resumed.socket, resumed.token) == (first.socket, first.token)
        assert "python3" in await machine_server_kernelspecs(connection, resumed)

        # And its log (systemd appends the machine server's output to it) can be fetched over SSH
        assert "Jupyter Server" in await fetch_server_log(connection)
        connection.close()
