"""The end-to-end tests: the local server with CloudLab on, in the sandbox (moto's EC2 on this
host), its machines served by OpenSSH's sshd (root only; skipped without it, failed in CI)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def jp_server_config(cloudlab_server_config: dict[str, Any]) -> dict[str, Any]:
    """pytest-jupyter's server, for every test here: the sandbox with OpenSSH machines."""
    return cloudlab_server_config
