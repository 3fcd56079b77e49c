"""A machine's life besides our own launch, stop, start, reboot and terminate: a stop or
termination that came from elsewhere (kept on its row with the reason), a failure recorded with
the instance's state (a running one can be retried), a stopped machine resized or saved as an
image, and a terminated row dismissed.

The orchestrator decides when (its commands and flows call these); this file knows how.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ..cloud import catalog, images, instances
from ..cloud.aws_client import AwsClient
from ..cloud.errors import CloudError
from ..cloud.state_reasons import stop_sentence
from ..cloud.tags import Computer, Owner
from ..errors import CloudLabError, ErrorKind
from ..models import ImageRequest, Machine, MachineAction, MachineState
from .book import MachineBook
from .connector import MachineConnector
from .shutdown_records import ShutdownRecords
from .transitions import check

log = logging.getLogger(__name__)

S = MachineState
A = MachineAction
# The states our own Stop and Terminate go through: a stop found then was ours, no reason.
OURS_UNDER_WAY = frozenset({S.stopping, S.stopped, S.terminating, S.terminated})
# AWS hard-reboots a machine whose OS has not gone down within four minutes.
REBOOT_DOWN_TIMEOUT_SECONDS = 300


class LifecycleFlows:
    def __init__(
        self,
        book: MachineBook,
        connector: MachineConnector,
        cloud: Callable[[str], AwsClient],
        owner_of: Callable[[], Awaitable[Owner]],
        computer: Computer,
    ) -> None:
        self._book = book
        self._connector = connector
        self._cloud = cloud
        self._owner_of = owner_of
        self._computer = computer
        self.records = ShutdownRecords(self._ready_machines, self._sftp_of)

    # ---- failures, and what happened elsewhere ------------------------------------------
    async def fail(self, machine_id: str, error: BaseException) -> None:
        """Failed, with the instance's EC2 state as seen now (a running one is billed: it
        offers Stop and Retry, see transitions.py)."""
        machine = self._book.find(machine_id)
        if machine is not None and machine.instance_id is not None:
            state = None
            with contextlib.suppress(Exception):
                state = (
                    await instances.describe(self._cloud(machine_id), machine.instance_id)
                ).state
            if machine_id in self._book:
                self._book.update(machine_id, instance_state=state)
        self._book.fail(machine_id, error)

    async def observe_gone(self, machine_id: str) -> None:
        """The machine stopped or was terminated, not by us (idle stop, budget, spot, the AWS
        console): follow the cloud, and keep its row with the reason."""
        machine = self._book.get(machine_id)
        record = self.records.latest(machine_id)
        await self._connector.disconnect(machine_id)
        assert machine.instance_id is not None
        info = await instances.wait_settled(self._cloud(machine_id), machine.instance_id)
        if info.state in ("pending", "running"):  # back already (a reboot from the console)
            try:
                await self._connector.connect(machine_id)
            except Exception as error:
                await self.fail(machine_id, error)
            return
        reason = _ec2_reason(info)
        # The machine's own record says why it shut itself down (EC2 says only that it did).
        if record is not None and record.explains_stop_after(machine.state_since):
            reason = record.sentence()
        gone = info.state not in ("stopping", "stopped")
        self._book.update(machine_id, stop_reason=reason, instance_state=info.state, address=None)
        self._book.set_state(machine_id, S.terminated if gone else S.stopped)
        log.info("Machine %s: %s", machine.name, reason)

    def reason_at_reconcile(
        self, known: Machine | None, info: instances.InstanceInfo
    ) -> str | None:
        """Why an instance found stopped or gone at start is so: None when we stopped it (or it
        runs), the row's reason when it had one, else EC2's."""
        if info.state in ("pending", "running"):
            return None
        if known is not None and (known.stop_reason or known.state in OURS_UNDER_WAY):
            return known.stop_reason
        if known is None and info.state_reason_code == "Client.UserInitiatedShutdown":
            return None  # no row of ours: maybe our own Stop, before this cache
        return _ec2_reason(info)

    async def terminated_rows(self, last_known: list[Machine], alive: set[str]) -> list[Machine]:
        """Rows of machines terminated while this server was away (or kept, not dismissed),
        with their reason: a termination from outside does not make a row vanish."""
        rows = []
        for machine in last_known:
            if machine.instance_id in alive:
                continue
            if machine.state is S.terminated and machine.stop_reason:
                rows.append(machine)
                continue
            if machine.instance_id is None or machine.state in OURS_UNDER_WAY:
                continue
            try:
                info = await instances.describe(self._cloud(machine.id), machine.instance_id)
            except CloudError:
                continue  # AWS forgot it (an hour after termination): nothing to explain
            reason = self.reason_at_reconcile(machine, info)
            if info.state in instances.GONE_STATES and reason:
                rows.append(
                    machine.model_copy(
                        update={"state": S.terminated, "stop_reason": reason, "kernelspecs": []}
                    )
                )
        return rows

    async def reboot_flow(self, machine_id: str) -> None:
        """Reboot, see the old session drop (so we never reconnect to the machine before it
        went down), then connect and bootstrap again. Its kernels do not survive a reboot."""
        link = self._connector.link(machine_id)
        await self._connector.forget_kernels(machine_id)
        try:
            if link is not None:
                link.stop_healing()
            instance_id = self._book.get(machine_id).instance_id
            assert instance_id is not None
            await instances.reboot(self._cloud(machine_id), instance_id)
            if link is not None:
                try:
                    await asyncio.wait_for(link.wait_dropped(), REBOOT_DOWN_TIMEOUT_SECONDS)
                except asyncio.TimeoutError:
                    raise CloudLabError(
                        "The machine did not go down within 5 minutes of the reboot request: "
                        "stop and start it instead.",
                        ErrorKind.failed,
                    ) from None
            await self._connector.disconnect(machine_id, forget=False)
            await self._connector.connect(machine_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self.fail(machine_id, error)

    # ---- commands on a stopped or terminated machine -------------------------------------
    async def resize(self, machine_id: str, instance_type: str) -> Machine:
        """A stopped machine's new instance type, its architecture checked against the image."""
        machine = self._book.get(machine_id)
        check(machine, A.resize)
        assert machine.instance_id is not None
        if instance_type == machine.instance_type:
            return machine
        ec2 = self._cloud(machine_id)
        new = await catalog.resize_target(
            ec2, machine.image_id, machine.instance_type, instance_type
        )
        await instances.change_type(ec2, machine.instance_id, new.name)
        self._book.change(
            machine_id,
            instance_type=new.name,
            gpu_label=new.gpu_label,
            price_per_hour=new.price_per_hour,
        )
        return self._book.get(machine_id)

    async def save_image(self, machine_id: str, request: ImageRequest) -> catalog.Image:
        """The stopped machine's disk as an image of ours, offered in the picker."""
        machine = self._book.get(machine_id)
        check(machine, A.image)
        assert machine.instance_id is not None
        ec2 = self._cloud(machine_id)
        info = await instances.describe(ec2, machine.instance_id)
        text = images.description(machine.image_id, machine.instance_type, request.description)
        owner = await self._owner_of()
        saved = await images.create(
            ec2, owner, machine.instance_id, request.name, text, info.ssh_user
        )
        return await catalog.own_image(ec2, self._computer, saved.id)

    def dismiss(self, machine_id: str) -> None:
        """Remove the row of a terminated machine (its reason read)."""
        check(self._book.get(machine_id), A.dismiss)
        self._book.remove(machine_id)

    # ---- shutdown records ----------------------------------------------------------------
    def _ready_machines(self) -> list[str]:
        return [m.id for m in self._book.all() if m.state is S.ready]

    def _sftp_of(self, machine_id: str) -> Callable[[], Awaitable[object]] | None:
        link = self._connector.link(machine_id)
        return link.sftp if link is not None else None


def _ec2_reason(info: instances.InstanceInfo) -> str:
    """EC2's reason for the instance's state, in words."""
    return stop_sentence(
        info.state, info.state_reason_code, info.state_reason_message, info.state_transition_reason
    )
