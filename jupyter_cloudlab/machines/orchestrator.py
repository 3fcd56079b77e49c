"""One state machine per machine: launch, stop, start, reboot, terminate; follow the cloud.

Commands return at once with the new state; the slow part runs as a task per machine, and every
state change is persisted and emitted (the panel listens).
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
from ..errors import CloudLabError, ErrorKind
from ..kernels.machine_servers import MachineServerRegistry
from ..models import LaunchRequest, Machine, MachineAction, MachineState, TunnelState
from ..ssh.client_key import public_key_line
from .book import MachineBook
from .connector import KernelspecLister, MachineConnector
from .errors import InvalidTransition
from .link import LinkContext
from .store import MachineStore
from .transitions import TRANSITIONS, allows

log = logging.getLogger(__name__)

S = MachineState
# AWS hard-reboots a machine whose OS has not gone down within four minutes.
REBOOT_DOWN_TIMEOUT_SECONDS = 300


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
    ) -> None:
        self._context = context
        self._ec2 = context.ec2
        self._regions = RegionClients(context.ec2, regions)
        self._book = MachineBook(store, emit)
        self._forget_kernels = forget_kernels
        self._ssh_from_cidr = ssh_from_cidr
        self._detect_cidr = detect_cidr
        self._public_key = public_key_line(context.client_key)
        # Whose machines these are: this computer's, named by its SSH key (see cloud/tags.py).
        self._computer = Computer.of(self._public_key)
        self._security_group = self._computer.security_group_name
        self._owner: Owner | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._connector = MachineConnector(
            context,
            self._book,
            machine_servers,
            list_kernelspecs,
            forget_kernels,
            cloud=self._cloud,
            on_gone=lambda machine_id: self._run(machine_id, self._observe_gone(machine_id)),
        )

    # ---- queries -------------------------------------------------------------------------
    def list(self) -> list[Machine]:
        return self._book.all()

    def get(self, machine_id: str) -> Machine:
        return self._book.get(machine_id)

    def tunnel_state(self, machine_id: str) -> TunnelState:
        return self._connector.tunnel_state(machine_id)

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
        )
        self._book.add(machine)
        spec_args = (request, image.ssh_user, image.root_device_name)
        self._run(machine.id, self._launch_flow(machine.id, *spec_args))
        return machine

    async def stop(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.stop, self._stop_flow)

    async def start(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.start, self._start_flow)

    async def reboot(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.reboot, self._reboot_flow)

    async def terminate(self, machine_id: str) -> Machine:
        return self._begin(machine_id, MachineAction.terminate, self._terminate_flow)

    def _begin(
        self,
        machine_id: str,
        action: MachineAction,
        flow: Callable[[str], Coroutine[Any, Any, None]],
    ) -> Machine:
        """Check the transition, show the state it goes through, run its flow in the background."""
        machine = self.get(machine_id)
        transition = TRANSITIONS[action]
        if not allows(machine, action):
            raise InvalidTransition(transition.refusal.format(state=machine.state.value))
        self._book.set_state(machine_id, transition.during)
        self._run(machine_id, flow(machine_id))
        return self.get(machine_id)

    # ---- lifecycle of the service --------------------------------------------------------
    async def reconcile(self) -> None:
        """Rebuild state from this computer's machines (our tags AND our key pair, see
        `instances.find_ours`); reconnect to the running ones."""
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
            known = cached.get(info.instance_id)
            machine = (
                known
                or Machine(
                    id=info.machine_id,
                    name=info.name,
                    instance_type=info.instance_type,
                    image_id=info.image_id,
                    region=region,
                    state=S.pending,
                    state_since=_now(),
                    instance_id=info.instance_id,
                    spot=info.spot,
                )
            ).model_copy(update={"kernelspecs": [], "message": None})
            self._book.add(machine, announce=False)
            if info.state in ("pending", "running"):
                self._book.set_state(machine.id, S.connecting)
                self._run(machine.id, self._connect_flow(machine.id))
            elif info.state in ("stopping", "stopped"):
                self._book.set_state(
                    machine.id, S.stopping if info.state == "stopping" else S.stopped
                )
                if info.state == "stopping":
                    self._run(machine.id, self._stop_flow(machine.id))
                await self._forget_kernels(machine.id)  # a stopped machine ran none of them
        # Kernels saved for machines stopped or terminated while this server was away are gone.
        found_ids = {info.instance_id for _, info in found}
        for machine in last_known:
            if machine.instance_id not in found_ids:
                await self._forget_kernels(machine.id)
        self._book.persist()

    async def close(self) -> None:
        """Detach (never stop or terminate): machines and their kernels outlive this server."""
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(BaseException):
                await task
        await self._connector.detach_all()

    # ---- flows ---------------------------------------------------------------------------
    async def _launch_flow(
        self, machine_id: str, request: LaunchRequest, ssh_user: str, root_device: str
    ) -> None:
        machine = self.get(machine_id)
        try:
            owner = await self._owner_of()
            key_name = await access.ensure_key_pair(
                self._cloud(machine_id), self._public_key, owner
            )
            cidr = self._ssh_from_cidr or await self._detect_cidr()
            group_id = await access.ensure_security_group(
                self._cloud(machine_id), cidr, self._security_group, owner
            )
            info = await instances.launch(
                self._cloud(machine_id),
                instances.LaunchSpec(
                    machine_id=machine_id,
                    name=machine.name,
                    instance_type=request.instance_type,
                    image_id=request.image_id,
                    ssh_user=request.ssh_user or ssh_user,
                    key_name=key_name,
                    security_group_id=group_id,
                    disk_gib=request.disk_gib,
                    disk_type=request.disk_type,
                    spot=request.spot,
                    spot_persistent=request.spot and request.spot_persistent,
                    root_device_name=root_device,
                    owner=owner,
                ),
            )
        except Exception as error:
            # Nothing is left behind (no security group or key pair that no machine uses),
            # and only then is the failure shown.
            with contextlib.suppress(CloudError):
                await access.release_unused(self._cloud(machine_id), self._computer)
            self._book.fail(machine_id, error)
            return
        self._book.update(machine_id, instance_id=info.instance_id)
        self._book.set_state(machine_id, S.pending)
        try:
            await instances.wait_running(self._cloud(machine_id), info.instance_id)
            await self._connector.connect(machine_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # A launch that cannot be used is not left running (and billing) behind.
            self._book.fail(machine_id, error)
            await self._connector.disconnect(machine_id)
            with contextlib.suppress(CloudError):
                await instances.terminate(self._cloud(machine_id), info.instance_id)
                await access.release_unused(self._cloud(machine_id), self._computer)

    async def _connect_flow(self, machine_id: str) -> None:
        try:
            await instances.wait_running(self._cloud(machine_id), self._instance_id(machine_id))
            await self._connector.connect(machine_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._book.fail(machine_id, error)

    async def _stop_flow(self, machine_id: str) -> None:
        await self._connector.disconnect(machine_id)
        try:
            await instances.stop(self._cloud(machine_id), self._instance_id(machine_id))
        except Exception as error:
            self._book.fail(machine_id, error)
            return
        self._book.update(machine_id, address=None)
        self._book.set_state(machine_id, S.stopped)
        # No machine of this computer runs: nobody needs SSH in (a start opens it again).
        opening = any(m.state in (S.requesting, S.starting) for m in self._book.all())
        with contextlib.suppress(CloudError):
            if not opening:
                await access.close_when_idle(self._cloud(machine_id), self._computer)

    async def _start_flow(self, machine_id: str) -> None:
        try:
            # SSH from this computer's address of now (it may have changed since the launch).
            cidr = self._ssh_from_cidr or await self._detect_cidr()
            await access.ensure_security_group(
                self._cloud(machine_id), cidr, self._security_group, await self._owner_of()
            )
            await instances.start(self._cloud(machine_id), self._instance_id(machine_id))
            await self._connector.connect(machine_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._book.fail(machine_id, error)

    async def _reboot_flow(self, machine_id: str) -> None:
        """Reboot, see the old session drop (so we never reconnect to the machine before it
        went down), then connect and bootstrap again. Its kernels do not survive a reboot."""
        link = self._connector.link(machine_id)
        await self._connector.forget_kernels(machine_id)
        try:
            if link is not None:
                link.stop_healing()
            await instances.reboot(self._cloud(machine_id), self._instance_id(machine_id))
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
            self._book.fail(machine_id, error)

    async def _terminate_flow(self, machine_id: str) -> None:
        await self._connector.disconnect(machine_id)
        instance_id = self.get(machine_id).instance_id
        if instance_id is not None:
            try:
                await instances.terminate(self._cloud(machine_id), instance_id)
            except Exception as error:
                self._book.fail(machine_id, error)
                return
            with contextlib.suppress(CloudError):
                await access.release_unused(self._cloud(machine_id), self._computer)
        self._book.set_state(machine_id, S.terminated)
        self._book.remove(machine_id)

    async def _observe_gone(self, machine_id: str) -> None:
        """The machine stopped by itself (idle stop, console): follow the cloud."""
        await self._connector.disconnect(machine_id)
        info = await instances.describe(self._cloud(machine_id), self._instance_id(machine_id))
        if info.state in ("stopping", "stopped"):
            await instances.stop(self._cloud(machine_id), info.instance_id)
            self._book.set_state(machine_id, S.stopped)
        else:
            self._book.set_state(machine_id, S.terminated)
            self._book.remove(machine_id)

    # ---- state bookkeeping ---------------------------------------------------------------
    def _run(self, machine_id: str, flow: Coroutine[Any, Any, None]) -> None:
        previous = self._tasks.get(machine_id)
        current = asyncio.current_task()
        if previous is not None and previous is not current and not previous.done():
            previous.cancel()
        task = asyncio.create_task(flow)
        self._tasks[machine_id] = task
        task.add_done_callback(
            lambda t: (
                self._tasks.pop(machine_id, None) if self._tasks.get(machine_id) is t else None
            )
        )

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
