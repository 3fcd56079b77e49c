"""One AWS account (or the sandbox) as the server uses it: immutable once built."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..cloud import catalog
from ..cloud.aws_client import AwsClient
from ..errors import CloudLabError, ErrorKind
from ..machines.guard import GuardDesk
from ..machines.orchestrator import MachineOrchestrator
from ..machines.workspaces import Workspaces
from ..models import GuardChange, Machine, Status
from ..sandbox.sandbox import Sandbox
from .options import SessionOptions
from .server_logs import ServerLogs

CATALOG_TTL_SECONDS = 3600
T = TypeVar("T")


class CatalogCache:
    """The launch catalog of one account, fetched at most once an hour."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        hit = self._entries.get(key)
        if hit and time.monotonic() - hit[0] < CATALOG_TTL_SECONDS:
            value: T = hit[1]
            return value
        fresh = await fetch()
        self._entries[key] = (time.monotonic(), fresh)
        return fresh


@dataclass(frozen=True)
class AccountSession:
    options: SessionOptions
    status: Status
    ec2: AwsClient
    ssm: AwsClient
    pricing: AwsClient | None
    """The Pricing API (in us-east-1 whatever the region); None in the sandbox, which has none."""
    orchestrator: MachineOrchestrator
    sandbox: Sandbox | None = None
    workspaces: Workspaces | None = None
    """The notebooks' folders mirrored to machines; None: no mirror."""
    catalog_cache: CatalogCache = field(default_factory=CatalogCache, compare=False)
    guards: GuardDesk = field(default_factory=GuardDesk, compare=False)
    """The machines' idle stop and budget (machines/guard.py)."""
    server_logs: ServerLogs | None = field(default=None, compare=False)
    """Reads a running machine's server log (None: this session reads none)."""

    @property
    def mode(self) -> str:
        return self.status.mode

    def machines(self) -> list[Machine]:
        return self.orchestrator.list()

    async def instance_types(self) -> list[catalog.InstanceType]:
        ec2, pricing = self.ec2, self.pricing
        return await self.catalog_cache.get(
            "types", lambda: catalog.offered_instance_types(ec2, pricing)
        )

    async def images(self) -> list[catalog.Image]:
        ec2, ssm = self.ec2, self.ssm
        public = await self.catalog_cache.get("images", lambda: catalog.public_images(ec2, ssm))
        # This account's own images fresh each time: one saved a minute ago shows as pending.
        own = await catalog.own_images(ec2, self.orchestrator.computer)
        return catalog.with_own_images(public, own)

    def set_mirror(self, machine_id: str, enabled: bool) -> Machine:
        """Turn a machine's workspace mirror on or off."""
        self.orchestrator.get(machine_id)  # 404 for an unknown machine
        if self.workspaces is None:
            raise CloudLabError("This server mirrors no workspace.", ErrorKind.invalid)
        return self.workspaces.set_mirror(machine_id, enabled)

    async def change_guard(self, machine_id: str, change: GuardChange) -> Machine:
        """Send a machine's idle limit, budget, keep-alive or stop-after-cell (409: not ready)."""
        self.orchestrator.get(machine_id)  # 404 for an unknown machine
        return await self.guards.apply(machine_id, change)

    async def server_log(self, machine_id: str, lines: int) -> str:
        """The last lines of a running machine's server log (404 unknown, 409 not running)."""
        machine = self.orchestrator.get(machine_id)
        if self.server_logs is None:
            raise CloudLabError("This server reads no machine log.", ErrorKind.invalid)
        return await self.server_logs.read(machine, lines)

    def renamed(self, options: SessionOptions, status: Status) -> AccountSession:
        """The same machines under other options and status (the sandbox carries on when the
        settings name an account it cannot reach)."""
        return replace(self, options=options, status=status)

    async def close(self) -> None:
        """Detach from machines (they keep running); the sandbox's machines power off with it."""
        try:
            await self.orchestrator.close()
        finally:
            if self.sandbox is not None:
                await self.sandbox.stop()
