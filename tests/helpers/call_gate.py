"""Hold one EC2 operation of a client before it is sent, to put another command exactly there
(a terminate while a launch is inside run_instances, an account switch at that moment).

Kept free of fixtures so any test module can use them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from jupyter_cloudlab.cloud.aws_client import AwsClient

HOLD_LIMIT_SECONDS = 120.0


class CallGate:
    """The next `times` calls of `operation` wait (in their worker thread, as a slow AWS reply
    would) until `open()`; `entered` is set when one arrives, `returned` once one came back."""

    def __init__(self, client: AwsClient, operation: str, times: int = 1) -> None:
        self._events = client.client.meta.events
        self._names = (
            f"before-call.{client.service}.{operation}",
            f"after-call.{client.service}.{operation}",
        )
        self._times = times
        self._held = 0
        self._open = threading.Event()
        self.entered = threading.Event()
        self.returned = threading.Event()
        self._events.register(self._names[0], self._hold)
        self._events.register(self._names[1], self._after)

    def _hold(self, **_: Any) -> None:
        if self._held >= self._times:
            return
        self._held += 1
        self.entered.set()
        self._open.wait(HOLD_LIMIT_SECONDS)

    def _after(self, **_: Any) -> None:
        self.returned.set()

    async def until(self, event: threading.Event, timeout: float = 60.0) -> None:
        assert await asyncio.to_thread(event.wait, timeout), "the held call never came"

    def open(self) -> None:
        self._open.set()

    def remove(self) -> None:
        self.open()
        self._events.unregister(self._names[0], self._hold)
        self._events.unregister(self._names[1], self._after)
