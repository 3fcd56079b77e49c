"""Fixtures of the cloud tests: one moto server per test module, a fresh account per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_cloudlab.cloud import access, aws_client
from jupyter_cloudlab.cloud.aws_client import AwsClient
from tests.helpers.moto_cloud import moto_server, reset, target


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The EC2 endpoint: moto's server on 127.0.0.1, reached over HTTP."""
    yield from moto_server()


@pytest.fixture
def fast_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiters, backoff and retries at test speed (moto answers at once)."""
    monkeypatch.setattr(aws_client, "THROTTLE_BASE_DELAY_SECONDS", 0.001)
    monkeypatch.setattr(aws_client, "WAITER_DELAY_SECONDS", 0.2)
    monkeypatch.setattr(access, "DELETE_RETRY_SECONDS", 0.1)


@pytest.fixture
def ec2(url: str, fast_cloud: None) -> AwsClient:
    """A client of an empty account."""
    reset(url)
    return AwsClient(target(url))
