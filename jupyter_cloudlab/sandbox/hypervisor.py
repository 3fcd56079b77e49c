"""Makes moto's instances real: powers a local SSH machine on and off as their state changes.

It watches the EC2 API like any client would, so the code under test drives machines only
through EC2 calls, as it does on AWS. It powers on only instances of ours: our owner tag, and a
key pair of ours (our name prefix and our owner tag); any other stays off, with a warning, so an
instance made by someone else never becomes a shell on this computer that trusts their key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from ..cloud.access import KEY_PAIR_PREFIX
from ..cloud.aws_client import AwsClient
from ..cloud.errors import CloudError
from ..cloud.tags import OWNER_TAG, OWNER_VALUE, SSH_USER_TAG, tag_dict
from .machine_host import MachineHost, PoweredMachine
from .power_button import mark_instance_initiated, take_power_off

# Fast while something changes (moto moves stopping -> stopped on a later read), else a slow
# backstop: every instance-changing API call nudges the hypervisor (see ec2_endpoint).
FAST_POLL_SECONDS = 0.3
IDLE_POLL_SECONDS = 5.0
SETTLE_SECONDS = 10.0
log = logging.getLogger(__name__)


class Hypervisor:
    def __init__(
        self, ec2: AwsClient, host: MachineHost, reboots: Callable[[], list[str]] = list
    ) -> None:
        self._ec2 = ec2
        self._host = host
        self._reboots = reboots
        self._powered: dict[str, PoweredMachine] = {}
        self._destroyed: set[str] = set()
        self._refused: set[str] = set()
        """Running instances left off (not ours); looked at again once they stop."""
        self._changed = asyncio.Event()
        self._nudged = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._watch())

    def nudge(self) -> None:
        """An instance changed: look now (callable from any thread)."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(self._nudged.set)

    async def powered(self, instance_id: str, timeout: float = 60) -> PoweredMachine:
        """Wait until the instance's machine is powered on."""
        deadline = asyncio.get_running_loop().time() + timeout
        while instance_id not in self._powered:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"Sandbox machine {instance_id} did not power on")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
        return self._powered[instance_id]

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        fast_until = loop.time() + SETTLE_SECONDS
        while True:
            self._nudged.clear()
            try:
                await self._sync()
            except CloudError as error:
                log.warning("Sandbox hypervisor could not read EC2: %s", error.message)
            except Exception:
                log.exception("Sandbox hypervisor failed a round")
            delay = FAST_POLL_SECONDS if loop.time() < fast_until else IDLE_POLL_SECONDS
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), delay)
            if self._nudged.is_set():
                fast_until = loop.time() + SETTLE_SECONDS

    async def _sync(self) -> None:
        for instance_id, machine in list(self._powered.items()):
            if take_power_off(machine.home):  # `shutdown -h now` inside: an EC2 stop
                log.info("Sandbox machine %s shut itself down.", instance_id)
                await self._ec2.call("stop_instances", InstanceIds=[instance_id])
                mark_instance_initiated(instance_id, self._ec2.region)
        for instance_id in self._reboots():
            # Power off now; the loop below powers it on again, as a reboot does.
            if self._powered.pop(instance_id, None) is not None:
                await self._host.power_off(instance_id)
                self._changed.set()
        reservations = await self._ec2.paginate("describe_instances", "Reservations")
        for raw in (i for r in reservations for i in r["Instances"]):
            instance_id, state = raw["InstanceId"], raw["State"]["Name"]
            if state == "running" and instance_id not in self._powered:
                if instance_id in self._refused:
                    continue
                key = await self._our_key(raw)
                if key is None:
                    self._refused.add(instance_id)
                    continue
                user = tag_dict(raw).get(SSH_USER_TAG, "ubuntu")
                self._powered[instance_id] = await self._host.power_on(instance_id, user, key)
                self._changed.set()
            elif state in ("stopping", "stopped", "shutting-down", "terminated"):
                self._refused.discard(instance_id)
                if self._powered.pop(instance_id, None) is not None:
                    await self._host.power_off(instance_id)
                    self._changed.set()
                if state == "terminated" and instance_id not in self._destroyed:
                    self._host.destroy(instance_id)
                    self._destroyed.add(instance_id)

    async def _our_key(self, raw: dict[str, Any]) -> str | None:
        """The public key of the instance's key pair when instance and key pair are ours; else
        None, and a warning says why the instance stays off."""
        instance_id, key_name = raw["InstanceId"], str(raw.get("KeyName") or "")
        why = ""
        pairs: list[dict[str, Any]] = []
        if tag_dict(raw).get(OWNER_TAG) != OWNER_VALUE:
            why = f"it lacks our tag {OWNER_TAG}={OWNER_VALUE}"
        elif not key_name.startswith(KEY_PAIR_PREFIX):
            why = f"its key pair {key_name or '(none)'} is not one of ours"
        else:
            try:
                reply = await self._ec2.call(
                    "describe_key_pairs", KeyNames=[key_name], IncludePublicKey=True
                )
                pairs = reply.get("KeyPairs", [])
            except CloudError as error:
                if not (error.code or "").startswith("InvalidKeyPair"):
                    raise  # not an answer: the next round looks again
            if not pairs:
                why = f"its key pair {key_name} does not exist"
            elif tag_dict(pairs[0]).get(OWNER_TAG) != OWNER_VALUE:
                why = f"its key pair {key_name} lacks our tag {OWNER_TAG}={OWNER_VALUE}"
        key = str(pairs[0].get("PublicKey", "")).strip() if pairs and not why else ""
        if not key:
            why = why or f"its key pair {key_name} holds no public key"
            log.warning("Sandbox machine %s stays powered off: %s.", instance_id, why)
            return None
        return key

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._host.close()
        self._powered.clear()
