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
        assert marker.exists() and '"version": 3' in marker.read_text()
        assert (home / ".cloudlab" / "token").stat().st_mode & 0o077 == 0
        assert first.service == "setsid" and not first.reused
        assert "python3" in await machine_server_kernelspecs(connection, first)

        # When it runs again on the same boot, Then the running machine_server is reused as is
        again = await bootstrap(connection, NO_ENVS)
        assert again.reused and (again.socket, again.token) == (first.socket, first.token)
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
        assert third.reused and third.outdated and third.socket == second.socket
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


async def test_only_environments_no_other_user_can_change_become_kernels(tmp_path: Path) -> None:
    async with rig(tmp_path) as machine:
        # Given framework environments with ipykernel, of which all but one could be changed by
        # another user of the machine: a world-writable python, a group-writable bin folder, an
        # environment owned by someone else, a python linked into a world-writable folder
        opt = machine.disk / "opt"
        for name in ("pytorch", "shared", "groupdir", "foreign", "linked"):
            _write_env(opt, name, f"{VENV_BIN}/python")
        (opt / "shared" / "bin" / "python").chmod(0o777)
        (opt / "groupdir" / "bin").chmod(0o775)
        for path in (opt / "foreign", opt / "foreign" / "bin", opt / "foreign" / "bin" / "python"):
            os.chown(path, 65534, 65534)
        drop = tmp_path / "drop"
        _write_env(drop, "anyone", f"{VENV_BIN}/python")
        drop.chmod(0o777)  # writable by all, without the sticky bit of /tmp
        (opt / "linked" / "bin" / "python").unlink()
        (opt / "linked" / "bin" / "python").symlink_to(drop / "anyone" / "bin" / "python")
        connection = await machine.connect()

        # When the machine is bootstrapped with that search root
        machine_server = await bootstrap(connection, BootstrapOptions(env_roots=(str(opt),)))
        connection.close()

        # Then only the environment that root or the machine's user alone can change is a kernel
        assert machine_server.kernelspecs == ("env-pytorch",)


def _environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def _children(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


async def test_the_token_is_in_no_environment_of_the_machine_server_or_its_kernels(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as machine:
        # Given a bootstrapped machine (its server started with setsid) with a kernel
        connection = await machine.connect()
        machine_server = await bootstrap(connection, NO_ENVS)
        kernel = await machine_server_api(connection, machine_server, "/api/kernels", "POST")
        state = machine.disk / "home" / "ubuntu" / ".cloudlab"
        server_pid = int((state / "gateway.pid").read_text())
        token = machine_server.token.encode()

        # Then the token is in the server's environment neither (it reads its 0600 file: every
        # kernel and terminal inherits the environment) nor in the kernel's
        assert token not in _environ(server_pid)
        assert b"JUPYTER_TOKEN_FILE=" + str(state / "token").encode() in _environ(server_pid)
        kernels = _children(server_pid)
        assert kernels, "the kernel runs as a child of the machine server"
        for pid in kernels:
            assert token not in _environ(pid) and b"JUPYTER_TOKEN" not in _environ(pid)
        assert (state / "token").stat().st_mode & 0o077 == 0
        await machine_server_api(
            connection, machine_server, f"/api/kernels/{kernel['id']}", "DELETE"
        )
        connection.close()


def _noisy_python(home: Path, name: str, body: str) -> str:
    """A "python" on the machine that prints instead of bootstrapping."""
    script = home / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


async def test_what_the_bootstrap_prints_is_read_with_bounds(tmp_path: Path) -> None:
    async with rig(tmp_path) as machine:
        home = machine.disk / "home" / "ubuntu"
        connection = await machine.connect()

        # Given a machine whose bootstrap prints 64 MB on its output
        flood = _noisy_python(home, "flood", "head -c 67108864 /dev/zero; exit 0")

        # When it is bootstrapped, Then it is stopped past the bound, with a sentence
        with pytest.raises(BootstrapFailed) as failure:
            await bootstrap(connection, BootstrapOptions(python=flood, env_roots=()))
        assert "printed more than 1 MiB" in str(failure.value)

        # Given one that fails after printing a 64 MB line on stderr
        shout = _noisy_python(
            home,
            "shout",
            "head -c 67108864 /dev/zero | tr '\\000' e >&2; printf '\\ndone\\n' >&2; exit 1",
        )

        # When it is bootstrapped, Then the failure quotes the end of it, bounded
        with pytest.raises(BootstrapFailed) as failure:
            await bootstrap(connection, BootstrapOptions(python=shout, env_roots=()))
        message = str(failure.value)
        assert "(exit 1)" in message and message.endswith("done")
        assert len(message) < 2_000
        connection.close()
