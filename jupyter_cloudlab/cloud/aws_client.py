"""The one entry point to AWS: boto3 clients whose blocking calls run off the event loop.

Retries: botocore's "standard" mode retries throttling and transient errors with backoff; nothing
else is retried here, so a real failure reaches the user at once.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from .errors import from_aws

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10)
WAITER_DELAY_SECONDS = 2
WAITER_MAX_ATTEMPTS = 300  # 10 minutes at the delay above


@dataclass(frozen=True)
class AwsTarget:
    """Where and as whom EC2 is called."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    """Only set for the sandbox's moto server (or another EC2-compatible endpoint)."""
    access_key_id: str | None = None
    secret_access_key: str | None = None


class AwsClient:
    """Async facade over one boto3 client (ec2, ssm)."""

    def __init__(self, target: AwsTarget, service: str = "ec2") -> None:
        self.target = target
        session = boto3.session.Session(
            profile_name=target.profile,
            region_name=target.region,
            aws_access_key_id=target.access_key_id,
            aws_secret_access_key=target.secret_access_key,
        )
        self._client: Any = session.client(
            service,  # type: ignore[call-overload]  # one facade for several services
            endpoint_url=target.endpoint_url,
            config=RETRY_CONFIG,
        )

    @property
    def region(self) -> str:
        return self.target.region

    async def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call an operation by its boto3 method name; failures become CloudError."""
        method = getattr(self._client, operation)
        try:
            result: dict[str, Any] = await asyncio.to_thread(functools.partial(method, **kwargs))
        except Exception as error:
            raise from_aws(error) from error
        return result

    async def paginate(self, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item under `key` across all pages of a paginated operation."""

        def collect() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            for page in self._client.get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(key, []))
            return items

        try:
            return await asyncio.to_thread(collect)
        except Exception as error:
            raise from_aws(error) from error

    async def wait(self, waiter_name: str, **kwargs: Any) -> None:
        """Block (off the loop) on a boto3 waiter, e.g. instance_running."""
        waiter = self._client.get_waiter(waiter_name)
        config = {"Delay": WAITER_DELAY_SECONDS, "MaxAttempts": WAITER_MAX_ATTEMPTS}
        try:
            await asyncio.to_thread(functools.partial(waiter.wait, WaiterConfig=config, **kwargs))
        except Exception as error:
            raise from_aws(error) from error
