from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "jupyter_cloudlab.pytest_plugin",
    "tests.cloud_fixtures",
    "tests.hang_report",
]


@pytest_asyncio.fixture
async def jp_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """Run pytest-jupyter's server on the loop pytest-asyncio runs the tests on (else requests
    from an async test hang: the server's loop never runs)."""
    yield asyncio.get_running_loop()
