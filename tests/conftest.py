from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from traitlets.config import Config

from jupyter_cloudlab.kernels.config import mixing_server_config
from tests.helpers.machine_server import MachineServerProcess, start_machine_server_process

pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "jupyter_cloudlab.pytest_plugin",
    "tests.helpers.moto_fixtures",
    "tests.helpers.moto_image_tags",
    "tests.helpers.hang_report",
]


@pytest_asyncio.fixture
async def jp_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """Run pytest-jupyter's server on the loop pytest-asyncio runs the tests on (else requests
    from an async test hang: the server's loop never runs)."""
    yield asyncio.get_running_loop()


@pytest.fixture(scope="module")
def remote_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MachineServerProcess]:
    """A plain machine server in its own process, shared by a module's tests (a test module
    that needs a fresh one per test defines its own)."""
    server = start_machine_server_process(tmp_path_factory.mktemp("machine"))
    yield server
    server.stop()


@pytest.fixture
def kernel_mixing_server_config() -> Config:
    """pytest-jupyter's server with our kernel classes and no extension: the test registers a
    machine's server itself (the sandbox's end-to-end config is in e2e/conftest.py)."""
    return Config({"ServerApp": {**mixing_server_config(), "jpserver_extensions": {}}})


@pytest.fixture
def aws_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two named profiles of one account (moto's), as `aws configure --profile` writes them."""
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text("[profile work]\nregion = us-east-1\n[profile lab]\nregion = us-east-1\n")
    credentials.write_text(
        "[work]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        "[lab]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
