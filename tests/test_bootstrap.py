"""The bootstrap against real OpenSSH sshd machines: versioned, idempotent, fast to resume."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_cloudlab.ssh.bootstrap import (
    BootstrapFailed,
    BootstrapOptions,
    bootstrap,
    fetch_server_log,
)
from tests.helpers.ssh_machines import (
    LAYOUTS,
    VENV_BIN,
    base_python,
    machine_server_api,
    machine_server_kernelspecs,
    rig,
)

NO_ENVS = BootstrapOptions(env_roots=())
RESUME_BUDGET_S = 10.0
"""Generous for a slow shared 2-core CI box; bench/bootstrap.py measures the real figure."""


@pytest.mark.parametrize("user", LAYOUTS)
async def test_fresh_then_reused_then_resumed_after_stop_start(tmp_path: Path, user: str) -> None:
    async with rig(tmp_path, user) as machine:
        # Given a machine whose Python has jupyter_server (as the sandbox's image does)
        connection = await machine.connect()
        first = await bootstrap(connection, NO_ENVS)
        home = machine.disk / "home" / user
        marker = home / ".cloudlab" / "state.json"

        # Then a marker records what is installed, and the token file is private
        assert marker.exists() and '"version": 2' in marker.read_text()
        assert (home / ".cloudlab" / "token").stat().st_mode & 0o077 == 0
        assert first.service == "setsid" and not first.reused
        assert "python3" in await machine_server_kernelspecs(connection, first)

        # When it runs again on the same boot, Then the running machine_server is reused as is
        again = await bootstrap(connection, NO_ENVS)
        assert again.reused and (again.port, again.token) == (first.port, first.token)
        connection.close()

        # When the machine is stopped and started (every process dies)
        await machine.power_cycle()
        connection = await machine.connect()
        started = time.monotonic()
        resumed = await bootstrap(connection, NO_ENVS)
        specs = await machine_server_kernelspecs(connection, resumed)
        elapsed = time.monotonic() - started

        # Then only the machine server is started again: no install, nothing re-checked, same token
        assert not resumed.installed and not resumed.reused
        assert resumed.token == first.token and "python3" in specs
        assert resumed.phases["check"] < 1.0
        assert elapsed < RESUME_BUDGET_S
        # And its log can be fetched over SSH (what `jupyter cloudlab logs` shows)
        assert "Jupyter Server" in await fetch_server_log(connection)
        connection.close()


async def test_new_settings_restart_the_machine_server_but_never_under_running_kernels(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as machine:
        connection = await machine.connect()
        config = machine.disk / "home" / "ubuntu" / ".cloudlab" / "jupyter_server_config.json"

        def culling() -> object:
            return json.loads(config.read_text())["MappingKernelManager"]["cull_idle_timeout"]

        def tuned(seconds: int) -> BootstrapOptions:
            return replace(NO_ENVS, server_settings=(("cull_idle_timeout", seconds),))

        # Given a machine whose machine server runs with the default settings and no kernel
        first = await bootstrap(connection, NO_ENVS)
        assert culling() == 0

        # When the user's culling setting changes, Then the machine server is restarted with it
        second = await bootstrap(connection, tuned(600))
        assert not second.reused and not second.outdated and culling() == 600
        assert second.token == first.token
        assert "python3" in await machine_server_kernelspecs(connection, second)

        # When it changes again while a kernel runs there
        kernel = await machine_server_api(connection, second, "/api/kernels", "POST")
        third = await bootstrap(connection, tuned(900))

        # Then the machine server and its kernel are left running, and the bootstrap says it is outdated
        assert third.reused and third.outdated and third.port == second.port
        assert (await machine_server_api(connection, third, f"/api/kernels/{kernel['id']}"))["id"]
        assert culling() == 600

        # When the kernel is gone, Then the next bootstrap applies the new setting
        await machine_server_api(connection, third, f"/api/kernels/{kernel['id']}", "DELETE")
        fourth = await bootstrap(connection, tuned(900))
        assert not fourth.reused and not fourth.outdated and culling() == 900
        assert "python3" in await machine_server_kernelspecs(connection, fourth)

        # And once applied, the same settings reuse the running machine_server
        assert (await bootstrap(connection, tuned(900))).reused
        connection.close()


def _write_env(root: Path, name: str, python: str) -> None:
    """A DLAMI-like framework environment: <root>/<name>/bin/python (a wrapper here)."""
    bin_dir = root / name / "bin"
    bin_dir.mkdir(parents=True)
    wrapper = bin_dir / "python"
    wrapper.write_text(f'#!/bin/sh\nexec {python} "$@"\n')
    wrapper.chmod(0o755)


async def test_machine_environments_become_kernels(tmp_path: Path) -> None:
    async with rig(tmp_path) as machine:
        # Given a DLAMI layout: /opt/pytorch with ipykernel, /opt/tools without it
        opt = machine.disk / "opt"
        _write_env(opt, "pytorch", f"{VENV_BIN}/python")
        _write_env(opt, "tools", base_python())
        connection = await machine.connect()

        # When the machine is bootstrapped with that search root
        machine_server = await bootstrap(connection, BootstrapOptions(env_roots=(str(opt),)))

        # Then the environment with ipykernel is a kernel, named after it; the other is not
        assert machine_server.kernelspecs == ("env-pytorch",)
        specs = await machine_server_kernelspecs(connection, machine_server)
        spec = specs["env-pytorch"]["spec"]
        assert spec["display_name"] == "Python 3 (PyTorch)"
        assert spec["argv"][0] == str(opt / "pytorch" / "bin" / "python")
        assert "env-tools" not in specs
        # And nothing was installed into it
        assert sorted(p.name for p in (opt / "pytorch").iterdir()) == ["bin"]

        # When the environment goes away, Then its kernelspec goes too (running machine_server kept)
        for path in sorted((opt / "pytorch").rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        (opt / "pytorch").rmdir()
        again = await bootstrap(connection, BootstrapOptions(env_roots=(str(opt),)))
        assert again.reused and again.kernelspecs == ()
        assert "env-pytorch" not in await machine_server_kernelspecs(connection, again)
        connection.close()


async def test_no_nvidia_smi_means_cpu(tmp_path: Path) -> None:
    async with rig(tmp_path) as machine:
        connection = await machine.connect()
        which = await connection.run("command -v nvidia-smi")
        machine_server = await bootstrap(connection, NO_ENVS)
        connection.close()
    if which.exit_status == 0:
        pytest.skip("this host has nvidia-smi: see tests/test_gpu.py for the GPU case")
    assert machine_server.gpu is None and machine_server.gpu_label == "CPU"


async def test_failed_install_reports_the_remote_stderr_tail(tmp_path: Path) -> None:
    async with rig(tmp_path) as machine:
        # Given a Python without jupyter_server and a wheelhouse that lacks it
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        (wheels / "unrelated-1.0-py3-none-any.whl").write_bytes(b"not really a wheel")
        connection = await machine.connect()
        options = BootstrapOptions(python=base_python(), env_roots=(), wheelhouse=wheels)

        # When it is bootstrapped, Then the failure says what pip said on the machine
        with pytest.raises(BootstrapFailed) as failure:
            await bootstrap(connection, options)
        connection.close()
        message = str(failure.value)
        assert "Installing on the machine failed" in message
        assert "jupyter_server" in message and "(exit 3)" in message
        # And the wheelhouse went over SFTP into ~/.cloudlab/wheelhouse
        uploaded = machine.disk / "home" / "ubuntu" / ".cloudlab" / "wheelhouse"
        assert (uploaded / "COMPLETE").exists()


@pytest.mark.skipif(
    not os.environ.get("CLOUDLAB_SLOW_TESTS") and not os.environ.get("CI"),
    reason="a full offline install takes a minute: set CLOUDLAB_SLOW_TESTS=1 (CI runs it)",
)
async def test_fresh_machine_installs_offline_from_a_wheelhouse(tmp_path: Path) -> None:
    # Given a wheelhouse made from the local package cache
    wheels = tmp_path / "wheels"
    pip = [f"{VENV_BIN}/python", "-m", "pip", "download", "-q", "-d", str(wheels)]
    proc = await asyncio.create_subprocess_exec(*pip, "jupyter_server", "ipykernel")
    assert await proc.wait() == 0
    async with rig(tmp_path) as machine:
        connection = await machine.connect()
        options = BootstrapOptions(python=base_python(), env_roots=(), wheelhouse=wheels)
        # When a machine whose Python lacks jupyter_server is bootstrapped
        machine_server = await bootstrap(connection, options)
        # Then it installed into ~/.cloudlab/venv from the uploaded wheels only, and serves
        assert machine_server.installed
        assert "python3" in await machine_server_kernelspecs(connection, machine_server)
        again = await bootstrap(connection, options)
        assert again.reused and not again.installed
        connection.close()
