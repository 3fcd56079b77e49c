"""The book of machines brought in line with the cloud at start (a server restart, an account
switch): the cloud is the truth, the data folder's `machines.json` only what we last knew.

This computer's instances (our tags AND our key pair, see `instances.find_ours`) are adopted in
every watched region and followed where they are going (a running one reconnected, a stopping
one's stop finished); kernels saved for machines that stopped or went away meanwhile are
forgotten; a machine terminated from outside keeps its row, with the reason; a key pair or group
that no instance uses is released.

The orchestrator decides when and owns the flows it starts; this file knows how.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from ..cloud import access, instances
from ..cloud.errors import CloudError
from ..cloud.regions import RegionClients
from ..cloud.tags import Computer
from ..models import Machine, MachineState
from .adoption import adopted
from .book import MachineBook
from .lifecycle_flows import LifecycleFlows

S = MachineState


class Reconciliation:
    def __init__(
        self,
        book: MachineBook,
        regions: RegionClients,
        computer: Computer,
        lifecycle: LifecycleFlows,
        forget_kernels: Callable[[str], Awaitable[None]],
        connect: Callable[[str], None],
        finish_stop: Callable[[str], None],
    ) -> None:
        """`connect` and `finish_stop` start the machine's connect or stop flow as its task."""
        self._book = book
        self._regions = regions
        self._computer = computer
        self._lifecycle = lifecycle
        self._forget_kernels = forget_kernels
        self._connect = connect
        self._finish_stop = finish_stop

    async def run(self) -> None:
        """Rebuild the book from this computer's machines; reconnect to the running ones."""
        last_known = self._book.cached()
        cached = {m.instance_id: m for m in last_known if m.instance_id}
        # A region where we know a machine stays watched, even once the settings name another.
        regions = dict.fromkeys([*self._regions.regions, *(m.region for m in last_known)])
        found = [
            (region, info)
            for region in regions
            for info in await instances.find_ours(self._regions.get(region), self._computer)
        ]
        for region, info in found:
            await self._adopt(cached.get(info.instance_id), info, region)
        # Kernels saved for machines stopped or terminated while this server was away are gone.
        found_ids = {info.instance_id for _, info in found}
        for machine in last_known:
            if machine.instance_id not in found_ids:
                await self._forget_kernels(machine.id)
        # ...and one terminated from outside keeps its row, with the reason, until dismissed.
        for row in await self._lifecycle.terminated_rows(last_known, found_ids):
            self._book.add(row, announce=False)
        self._book.persist()
        self._lifecycle.records.ensure_polling()
        # A key pair or group that no instance of ours uses (a server killed between making
        # them and run_instances) is not left behind.
        for region in regions:
            with contextlib.suppress(CloudError):
                await access.release_unused(self._regions.get(region), self._computer)

    async def _adopt(
        self, known: Machine | None, info: instances.InstanceInfo, region: str
    ) -> None:
        """The instance's row, in the state EC2 shows, with the flow that follows it."""
        machine = adopted(known, info, region, self._lifecycle.reason_at_reconcile(known, info))
        self._book.add(machine, announce=False)
        if info.state in ("pending", "running"):
            self._book.set_state(machine.id, S.connecting)
            self._connect(machine.id)
        elif info.state in ("stopping", "stopped"):
            self._book.set_state(machine.id, S.stopping if info.state == "stopping" else S.stopped)
            if info.state == "stopping":
                self._finish_stop(machine.id)
            await self._forget_kernels(machine.id)  # a stopped machine ran none of them
