"""One state machine per machine: launch, stop, start, reboot, terminate; follow the cloud.

Commands return at once with the new state; the slow part runs as a task per machine, and every
state change is persisted and emitted (the panel listens).

Commands may come at any moment: a machine's flows take turns (see flow_tasks.py), and a
launch's create step (key pair, group, run_instances, the instance id recorded) is never cut
midway, so no instance AWS made is left without its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, timezone
from typing import Any

from ..cloud import access, catalog, instances
from ..cloud.aws_client import AwsClient
from ..cloud.errors import CloudError
from ..cloud.regions import RegionClients
from ..cloud.tags import Computer, Owner, owner_for
from ..errors import CloudLabError
from ..kernels.machine_servers import MachineServerRegistry
from ..models import (
    ImageRequest,
    LaunchRequest,
    Machine,
    MachineAction,
    MachineState,
    TunnelState,
)
from ..ssh.client_key import public_key_line
from .book import MachineBook
from .connector import KernelspecLister, MachineConnector
from .flow_tasks import FlowTasks
from .lifecycle_flows import LifecycleFlows
from .link import LinkContext
from .meter_service import Meter
from .reconciliation import Reconciliation
from .store import MachineStore
from .transitions import TRANSITIONS, check

log = logging.getLogger(__name__)

S = MachineState


def _now() -> datetime:
    return datetime.now(timezone.utc)


class MachineOrchestrator:
    def __init__(
        self,
        context: LinkContext,
        store: MachineStore,
        machine_servers: MachineServerRegistry,
        list_kernelspecs: KernelspecLister,
        forget_kernels: Callable[[str], Awaitable[None]],
        emit: Callable[[Machine], None],
        ssh_from_cidr: str,
        detect_cidr: Callable[[], Awaitable[str]],
        regions: Sequence[str] = (),
        meter: Meter | None = None,
    ) -> None:
        self._context = context
        self._ec2 = context.ec2
        self._regions = RegionClients(context.ec2, regions)
        self._book = MachineBook(store, emit, meter)
        self._ssh_from_cidr = ssh_from_cidr
        self._detect_cidr = detect_cidr
        self._public_key = public_key_line(context.client_key)
        # Whose machines these are: this computer's, named by its SSH key (see cloud/tags.py).
        self._computer = Computer.of(self._public_key)
        self._security_group = self._computer.security_group_name
        self._owner: Owner | None = None
        self._flows = FlowTasks()
        self._connector = MachineConnector(
            context,
            self._book,
            machine_servers,
            list_kernelspecs,
            forget_kernels,
            cloud=self._cloud,
            on_gone=lambda machine_id: self._flows.run(
                machine_id, self._lifecycle.observe_gone(machine_id)
            ),
        )
        self._lifecycle = LifecycleFlows(
            self._book, self._connector, self._cloud, self._owner_of, self._computer
        )
        self._reconciliation = Reconciliation(
            self._book,
            self._regions,
            self._computer,
            self._lifecycle,
            forget_kernels,
            connect=lambda machine_id: self._flows.run(machine_id, self._connect_flow(machine_id)),
            finish_stop=lambda machine_id: self._flows.run(machine_id, self._stop_flow(machine_id)),
        )

    # ---- queries -------------------------------------------------------------------------
    def list(self) -> list[Machine]:
        return self._book.all()

    def get(self, machine_id: str) -> Machine:
        return self._book.get(machine_id)

    def tunnel_state(self, machine_id: str) -> TunnelState:
        return self._connector.tunnel_state(machine_id)

    @property
    def computer(self) -> Computer:
        return self._computer

    # ---- commands ------------------------------------------------------------------------
    async def launch(self, request: LaunchRequest) -> Machine:
        """Validate against the cloud first (nothing is created for bad input), then launch."""
        [instance_type] = await catalog.describe_instance_types(self._ec2, [request.instance_type])
        image = await catalog.describe_image(self._ec2, request.image_id)
        if image.architecture != instance_type.architecture:
            raise CloudLabError(
                f"{image.id} is built for {image.architecture} but {instance_type.name} runs "
                f"{instance_type.architecture}: pick a matching image or instance type."
            )
        machine = Machine(
            id=f"m-{secrets.token_hex(4)}",
            name=request.name or request.instance_type,
            instance_type=request.instance_type,
            image_id=request.image_id,
            region=self._ec2.region,
            spot=request.spot,
            state=S.requesting,
            state_since=_now(),
            launched_at=_now(),
            gpu_label=instance_type.gpu_label,
            price_per_hour=instance_type.price_per_hour,
            **self._connector.guard.launch_fields(request),
        )
        self._connector.guard.launched(machine.id, request)  # sent at its first ready
        self._book.add(machine)
        self._lifecycle.records.ensure_polling()
        spec_args = (request, image.ssh_user, image.root_device_name)
        self._flows.run(machine.id, self._launch_flow(machine.id, *spec_args))
        return machine

    async def stop(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.stop, self._stop_flow)

    async def start(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.start, self._start_flow)

    async def reboot(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.reboot, self._lifecycle.reboot_flow)

    async def terminate(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.terminate, self._terminate_flow)

    async def retry(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.retry, self._retry_flow)

    async def resize(self, machine_id: str, instance_type: str) -> Machine:
        return await self._lifecycle.resize(machine_id, instance_type)

    async def save_image(self, machine_id: str, request: ImageRequest) -> catalog.Image:
        return await self._lifecycle.save_image(machine_id, request)

    def dismiss(self, machine_id: str) -> None:
        self._lifecycle.dismiss(machine_id)

    def _begin(
        self,
        machine_id: str,
        action: MachineAction,
        flow: Callable[[str], Coroutine[Any, Any, None]],
    ) -> Machine:
        """Check the transition, show the state it goes through, run its flow in the background."""
        check(self.get(machine_id), action)
        during = TRANSITIONS[action].during
        assert during is not None
        self._book.update(machine_id, stop_reason=None)  # what comes now is our own doing
        self._book.set_state(machine_id, during)
        self._flows.run(machine_id, flow(machine_id))
        return self.get(machine_id)

    # ---- lifecycle of the service --------------------------------------------------------
    async def reconcile(self) -> None:
        """Rebuild state from this computer's machines (our tags AND our key pair, see
        `instances.find_ours`); reconnect to the running ones (see reconciliation.py)."""
        await self._reconciliation.run()

    async def close(self) -> None:
        """Detach (never stop or terminate): machines and their kernels outlive this server."""
        await self._flows.close()
        await self._lifecycle.records.close()
        await self._book.close()
        await self._connector.detach_all()

    # ---- flows ---------------------------------------------------------------------------
    async def _launch_flow(
        self, machine_id: str, request: LaunchRequest, ssh_user: str, root_device: str
    ) -> None:
        ec2 = self._cloud(machine_id)
        creating = self._flows.create(
            machine_id, self._create_instance(machine_id, request, ssh_user, root_device)
        )
        info: instances.InstanceInfo | None = None
        try:
            # Until it runs, this launch counts as opening (see access.opening): meanwhile no
            # other flow's stop closes SSH, nor a terminate releases the key pair or group.
            with access.opening(ec2, self._computer):
                # Cancelling this flow (a terminate, the server stopping, an account switch)
                # does not cut the create step: whoever cancelled finds the instance recorded.
                info = await asyncio.shield(creating)
                self._book.set_state(machine_id, S.pending)
                await instances.wait_running(ec2, info.instance_id)
            await self._connector.connect(machine_id)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failure = error
        if info is None:
            # Nothing is left behind (no security group or key pair that no machine uses),
            # and only then is the failure shown.
            with contextlib.suppress(CloudError):
                await access.release_unused(ec2, self._computer)
            self._book.fail(machine_id, failure)
            return
        # A launch that cannot be used is not left running (and billing) behind.
        self._book.fail(machine_id, failure)
        await self._connector.disconnect(machine_id)
        with contextlib.suppress(CloudError):
            await instances.terminate(ec2, info.instance_id)
            await access.release_unused(ec2, self._computer)

    async def _create_instance(
        self, machine_id: str, request: LaunchRequest, ssh_user: str, root_device: str
    ) -> instances.InstanceInfo:
        """Key pair, security group, run_instances; the instance id recorded at once."""
        machine, ec2 = self.get(machine_id), self._cloud(machine_id)
        owner = await self._owner_of()
        try:
            cidr = self._ssh_from_cidr or await self._detect_cidr()
            info = await access.launch(
                ec2,
                instances.LaunchSpec(
                    machine_id=machine_id,
                    name=machine.name,
                    instance_type=request.instance_type,
                    image_id=request.image_id,
                    ssh_user=request.ssh_user or ssh_user,
                    key_name="",  # access.launch fills in ours
                    security_group_id="",
                    disk_gib=request.disk_gib,
                    disk_type=request.disk_type,
                    spot=request.spot,
                    spot_persistent=request.spot and request.spot_persistent,
                    root_device_name=root_device,
                    owner=owner,
                ),
                self._public_key,
                cidr,
            )
        except Exception:
            # A reply lost after AWS made the instance (a timeout, a dropped connection): it is
            # found by its machine id and used, never left billing without a row.
            found = None
            with contextlib.suppress(CloudError):
                found = await instances.find_machine(ec2, owner, machine_id)
            if found is None:
                raise
            info = found
        if machine_id in self._book:
            self._book.update(machine_id, instance_id=info.instance_id)
            self._book.persist()
        return info

    async def _connect_flow(self, machine_id: str) -> None:
        try:
            await instances.wait_running(self._cloud(machine_id), self._instance_id(machine_id))
            await self._connector.connect(machine_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self._lifecycle.fail(machine_id, error)

    async def _retry_flow(self, machine_id: str) -> None:
        await self._connector.disconnect(machine_id, forget=False)  # the failed link, if any
        await self._connect_flow(machine_id)

    async def _stop_flow(self, machine_id: str) -> None:
        await self._connector.disconnect(machine_id)
        try:
            await instances.stop(self._cloud(machine_id), self._instance_id(machine_id))
        except Exception as error:
            self._book.fail(machine_id, error)
            return
        self._book.update(machine_id, address=None)
        self._book.set_state(machine_id, S.stopped)
        # No machine of this computer runs: nobody needs SSH in (a start opens it again; a
        # launch or start of this server under way keeps it open, see access.opening).
        with contextlib.suppress(CloudError):
            await access.close_when_idle(self._cloud(machine_id), self._computer)

    async def _start_flow(self, machine_id: str) -> None:
        ec2 = self._cloud(machine_id)
        try:
            # SSH from this computer's address of now (it may have changed since the launch),
            # kept open until the instance runs (see access.opening).
            with access.opening(ec2, self._computer):
                cidr = self._ssh_from_cidr or await self._detect_cidr()
                await access.ensure_security_group(
                    ec2, cidr, self._security_group, await self._owner_of()
                )
                await instances.start(ec2, self._instance_id(machine_id))
            await self._connector.connect(machine_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self._lifecycle.fail(machine_id, error)

    async def _terminate_flow(self, machine_id: str) -> None:
        await self._connector.disconnect(machine_id)
        ec2 = self._cloud(machine_id)
        try:
            instance_id = await self._launched_instance(machine_id)
            if instance_id is not None:
                await instances.terminate(ec2, instance_id)
        except Exception as error:
            self._book.fail(machine_id, error)
            return
        with contextlib.suppress(CloudError):
            await access.release_unused(ec2, self._computer)
        self._book.set_state(machine_id, S.terminated)
        self._book.remove(machine_id)

    async def _launched_instance(self, machine_id: str) -> str | None:
        """The machine's instance, if AWS made one: once its launch's create step has ended
        (a terminate during a launch acts on what it made), else found by its machine id."""
        await self._flows.wait_created(machine_id)
        instance_id = self.get(machine_id).instance_id
        if instance_id is None:
            owner = await self._owner_of()
            found = await instances.find_machine(self._cloud(machine_id), owner, machine_id)
            instance_id = found.instance_id if found is not None else None
        return instance_id

    # ---- state bookkeeping ---------------------------------------------------------------
    async def _owner_of(self) -> Owner:
        """This computer and the AWS principal of this session (kept once AWS has said)."""
        if self._owner is not None:
            return self._owner
        owner = await owner_for(self._ec2, self._computer)
        if owner.principal is not None:
            self._owner = owner
        return owner

    def _cloud(self, machine_id: str) -> AwsClient:
        """The EC2 client of the machine's region (the home region's once it is forgotten)."""
        machine = self._book.find(machine_id)
        return self._regions.get(machine.region) if machine else self._ec2

    def _instance_id(self, machine_id: str) -> str:
        instance_id = self.get(machine_id).instance_id
        assert instance_id is not None
        return instance_id
