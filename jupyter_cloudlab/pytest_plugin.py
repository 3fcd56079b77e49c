"""Fixtures for testing jupyter_cloudlab (and extensions built on it) with pytest-jupyter.

    pytest_plugins = ["pytest_jupyter.jupyter_server"]

    @pytest.fixture
    def jp_server_config(cloudlab_server_config):
        return cloudlab_server_config

    async def test_x(cloudlab_session, jp_fetch): ...

`cloudlab_server_config` runs the sandbox with OpenSSH's sshd playing the machines (root only);
when CI is set and sshd is missing, the fixture fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest


def cloudlab_require(available: bool, reason: str, remedy: str) -> None:
    """Skip when a tool the test needs is missing here; in CI that fails instead, never skips."""
    if available:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}, and CI must not skip: {remedy}.")
    pytest.skip(reason)


def cloudlab_require_openssh() -> None:
    from .sandbox.openssh_host import OpenSSHMachineHost

    cloudlab_require(
        OpenSSHMachineHost.available(),
        "OpenSSH's sshd (and root, for its private mount namespace) is needed",
        "install openssh-server",
    )


@pytest.fixture
def cloudlab_data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "cloudlab-data"
    path.mkdir()
    return path


@pytest.fixture
def cloudlab_server_config(cloudlab_data_dir: Path) -> dict[str, Any]:
    """Server config: the extension on, in the sandbox, machines served by real OpenSSH."""
    cloudlab_require_openssh()
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": True}},
        "CloudLab": {
            "mode": "sandbox",
            "sandbox_ssh_server": "openssh",
            "data_dir": str(cloudlab_data_dir),
        },
    }


@pytest.fixture
async def cloudlab_backend(jp_serverapp: Any) -> AsyncIterator[Any]:
    """The started backend (pytest-jupyter does not run the extensions' start hooks)."""
    await jp_serverapp.extension_manager.start_all_extensions()
    backend = jp_serverapp.web_app.settings["cloudlab_backend"]
    await backend.ready.wait()
    assert backend.startup_error is None, backend.startup_error
    yield backend
    await backend.stop()


@pytest.fixture
async def cloudlab_session(cloudlab_backend: Any) -> Any:
    """The backend's account session as it started (clients, orchestrator, sandbox)."""
    return await cloudlab_backend.session()
