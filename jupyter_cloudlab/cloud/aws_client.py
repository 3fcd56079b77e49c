"""The one entry point to AWS: boto3 clients whose blocking calls run off the event loop.

Retries: only throttling is retried, here, with capped exponential backoff and jitter (botocore's own
retries are off). Anything else reaches the user at once, as a sentence (see errors.py).
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

from .errors import from_aws

# botocore retries nothing: the throttling policy below is the only one.
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=10)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "EC2ThrottledException",
    }
)
THROTTLE_ATTEMPTS = 6
THROTTLE_BASE_DELAY_SECONDS = 0.5
THROTTLE_MAX_DELAY_SECONDS = 20.0
WAITER_DELAY_SECONDS = 2
WAITER_MAX_ATTEMPTS = 300  # 10 minutes at the delay above
# The Pricing API answers in these regions only; us-east-1 serves every region's prices.
PRICING_REGION = "us-east-1"

# Called with (service, operation) before every request any AwsClient makes (tests, audit logs).
OperationObserver = Callable[[str, str], None]
OPERATION_OBSERVERS: list[OperationObserver] = []


@dataclass(frozen=True)
class AwsTarget:
    """Where and as whom EC2 is called."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    """Only set for the sandbox's moto server (or another EC2-compatible endpoint)."""
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    """Never printed: a target may end up in a log line or an error's repr."""


def is_throttling(error: BaseException) -> bool:
    return (
        isinstance(error, ClientError)
        and error.response.get("Error", {}).get("Code", "") in THROTTLING_CODES
    )


def backoff_delay(attempt: int) -> float:
    """Full jitter: a random wait up to base * 2**attempt, capped."""
    ceiling = min(THROTTLE_MAX_DELAY_SECONDS, THROTTLE_BASE_DELAY_SECONDS * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


class AwsClient:
    """Async facade over one boto3 client (ec2, ssm, pricing)."""

    def __init__(self, target: AwsTarget, service: str = "ec2", region: str | None = None) -> None:
        self.target = target
        self.service = service
        self._region = region or target.region
        session = boto3.session.Session(
            profile_name=target.profile,
            region_name=self._region,
            aws_access_key_id=target.access_key_id,
            aws_secret_access_key=target.secret_access_key,
        )
        self._client: Any = session.client(
            service,  # type: ignore[call-overload]  # one facade for several services
            endpoint_url=target.endpoint_url,
            config=CLIENT_CONFIG,
        )
        self._client.meta.events.register("before-call", self._observe)

    def _observe(self, model: Any, **_: Any) -> None:
        for observer in list(OPERATION_OBSERVERS):
            observer(self.service, model.name)

    @property
    def region(self) -> str:
        return self._region

    @property
    def client(self) -> Any:
        """The boto3 client itself (for botocore's Stubber and event hooks in tests)."""
        return self._client

    async def _retrying(self, work: Callable[[], Any], params: dict[str, Any]) -> Any:
        for attempt in range(THROTTLE_ATTEMPTS):
            try:
                return await asyncio.to_thread(work)
            except Exception as error:
                if is_throttling(error) and attempt + 1 < THROTTLE_ATTEMPTS:
                    await asyncio.sleep(backoff_delay(attempt))
                    continue
                raise from_aws(error, self.service, params) from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call an operation by its boto3 method name; failures become CloudError."""
        method = getattr(self._client, operation)
        result: dict[str, Any] = await self._retrying(functools.partial(method, **kwargs), kwargs)
        return result

    async def paginate(self, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item under `key` across all pages of a paginated operation."""

        def collect() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            for page in self._client.get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(key, []))
            return items

        items: list[dict[str, Any]] = await self._retrying(collect, kwargs)
        return items

    async def wait(self, waiter_name: str, **kwargs: Any) -> None:
        """Until a boto3 waiter's acceptors say done (e.g. instance_running), by its own
        definition (operation and matchers); but only each poll runs in a thread, and the delay
        between polls on the loop: `waiter.wait` would hold one of the few executor threads for
        the minutes a machine takes, and a few machines starting would starve every AWS call."""
        waiter = self._client.get_waiter(waiter_name)
        method = getattr(self._client, xform_name(waiter.config.operation))

        def poll() -> dict[str, Any]:
            try:
                response: dict[str, Any] = method(**kwargs)
            except ClientError as error:  # waiters match on error codes too
                return dict(error.response)
            return response

        last: Any = {}  # the last poll's response (botocore types it as an error response)
        for _ in range(WAITER_MAX_ATTEMPTS):
            last = await self._retrying(poll, kwargs)
            state = next((a.state for a in waiter.config.acceptors if a.matcher_func(last)), None)
            if state == "success":
                return
            if state == "failure" or (state is None and "Error" in last):
                if last.get("Error", {}).get("Code") in THROTTLING_CODES:
                    await asyncio.sleep(WAITER_DELAY_SECONDS)
                    continue
                reason = "Waiter encountered a terminal failure state"
                error = WaiterError(name=waiter.name, reason=reason, last_response=last)
                raise from_aws(error, self.service, kwargs)
            await asyncio.sleep(WAITER_DELAY_SECONDS)
        error = WaiterError(name=waiter.name, reason="Max attempts exceeded", last_response=last)
        raise from_aws(error, self.service, kwargs)
