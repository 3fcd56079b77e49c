from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from traitlets.config import Config

from jupyter_cloudlab.kernels.config import mixing_server_config

pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "jupyter_cloudlab.pytest_plugin",
    "tests.helpers.moto_fixtures",
    "tests.helpers.hang_report",
]


@pytest_asyncio.fixture
async def jp_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """Run pytest-jupyter's server on the loop pytest-asyncio runs the tests on (else requests
    from an async test hang: the server's loop never runs)."""
    yield asyncio.get_running_loop()


@pytest.fixture
def kernel_mixing_server_config() -> Config:
    """pytest-jupyter's server with our kernel classes and no extension: the test registers a
    machine's server itself (the sandbox's end-to-end config is in e2e/conftest.py)."""
    return Config({"ServerApp": {**mixing_server_config(), "jpserver_extensions": {}}})
