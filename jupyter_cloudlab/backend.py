"""Composition root: picks AWS or the sandbox, builds the cloud clients and the orchestrator.

Everything the handlers use hangs off one `CloudLabBackend`, handed to them in the settings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3

from .cloud import catalog
from .cloud.account import check_choice
from .cloud.aws_client import PRICING_REGION, AwsClient, AwsTarget
from .cloud.caller_address import public_cidr
from .cloud.errors import CloudError
from .cloud.network import Ec2Network, MachineNetwork
from .kernels.gateways import GatewayRegistry
from .machines.connector import KernelspecLister
from .machines.link import LinkContext
from .machines.orchestrator import MachineOrchestrator
from .machines.store import MachineStore
from .models import AccountChoice, Machine, Status
from .sandbox.ec2_endpoint import SANDBOX_REGION
from .sandbox.sandbox import Sandbox
from .ssh.bootstrap import BootstrapOptions
from .ssh.client_key import load_or_create_client_key
from .ssh.host_keys import HostKeyStore
from .ssh.openssh_forward import OpenSSHForwarding, openssh_client

CATALOG_TTL_SECONDS = 3600
log = logging.getLogger(__name__)


@dataclass
class BackendOptions:
    mode: str  # auto | aws | sandbox
    region: str
    profile: str | None
    endpoint_url: str | None
    data_dir: Path
    remote_python: str
    ssh_from_cidr: str
    sandbox_ssh_server: str
    wheelhouse: str = ""
    ssh_forward: str = "auto"  # auto | openssh | asyncssh
    machine_env_roots: tuple[str, ...] = ("/opt/conda/envs", "/opt")
    regions: tuple[str, ...] = ()
    """Other regions where our machines are looked for at start (AWS mode)."""
    machine_server: tuple[tuple[str, object], ...] = ()
    """Settings of the machine's jupyter server (culling, offline buffer), see app.py."""


def aws_credentials_found(profile: str | None) -> bool:
    """Whether the boto3 credential chain (env, profiles, SSO, instance role) yields anything."""
    try:
        return boto3.session.Session(profile_name=profile).get_credentials() is not None
    except Exception:
        return False


class CloudLabBackend:
    def __init__(
        self,
        options: BackendOptions,
        gateways: GatewayRegistry,
        list_kernelspecs: KernelspecLister,
        forget_kernels: Any,
        emit: Any,
    ) -> None:
        self.options = options
        self._configured = options  # the server's own configuration, before any setting
        self._switching = asyncio.Lock()
        self.gateways = gateways
        self._list_kernelspecs = list_kernelspecs
        self._forget_kernels = forget_kernels
        self._emit = emit
        self.ready = asyncio.Event()
        self.startup_error: str | None = None
        self.sandbox: Sandbox | None = None
        self.status = Status(mode="sandbox", region=options.region or "us-east-1")
        self.ec2: AwsClient | None = None
        self.ssm: AwsClient | None = None
        self.pricing: AwsClient | None = None
        self.orchestrator: MachineOrchestrator | None = None
        self._catalog_cache: dict[str, tuple[float, Any]] = {}

    def _choose_mode(self) -> tuple[str, str]:
        if self.options.mode != "auto":
            return self.options.mode, f"Mode set to {self.options.mode} in the configuration."
        if aws_credentials_found(self.options.profile):
            return "aws", "Using your AWS credentials."
        return "sandbox", (
            "No AWS credentials were found, so machines run in the local sandbox: a simulated "
            "EC2 on this computer. Configure AWS credentials to launch real machines."
        )

    async def choose_account(self, choice: AccountChoice) -> Status:
        """Use the profile and region picked in JupyterLab's settings (None: the server's own).

        Machines are detached, never stopped, and found again by their tags. While no
        credentials are found the sandbox carries on: its machines live only as long as it does.
        """
        check_choice(choice.profile, choice.region)
        wanted = replace(
            self.options,
            profile=choice.profile or self._configured.profile,
            region=choice.region or self._configured.region,
        )
        async with self._switching:
            await self.ready.wait()
            if (wanted.profile, wanted.region) == (self.options.profile, self.options.region):
                return self.status
            self.options = wanted
            mode, message = self._choose_mode()
            if mode == "sandbox" and self.sandbox is not None:
                self.status = Status(
                    mode=mode, region=SANDBOX_REGION, message=self._sandbox_note(message)
                )
                return self.status
            self.ready.clear()
            await self.stop()
            self._catalog_cache.clear()
            self.startup_error = None
            await self.start()
            return self.status

    def _sandbox_note(self, message: str) -> str:
        region = self.options.region
        if region and region != SANDBOX_REGION:
            message += (
                f" The sandbox simulates {SANDBOX_REGION} only: your region, {region}, applies "
                "once AWS credentials are found."
            )
        return message

    async def start(self) -> None:
        try:
            await self._start()
        except Exception as error:
            self.startup_error = f"CloudLab could not start: {getattr(error, 'message', error)}"
            log.exception("CloudLab backend failed to start")
        finally:
            self.ready.set()

    async def _start(self) -> None:
        mode, message = self._choose_mode()
        data_dir = self.options.data_dir
        network: MachineNetwork
        ssh_from_cidr = self.options.ssh_from_cidr
        if mode == "sandbox":
            self.sandbox = Sandbox(data_dir / "sandbox", self.options.sandbox_ssh_server)
            target = await self.sandbox.start()
            assert self.sandbox.network is not None
            network = self.sandbox.network
            ssh_from_cidr = ssh_from_cidr or "127.0.0.1/32"
            # Sandbox machines are throwaway: their host keys must not mix with real ones.
            host_key_file = data_dir / "sandbox" / "host_keys.json"
            store_file = data_dir / "sandbox" / "machines.json"
        else:
            target = AwsTarget(
                region=self.options.region
                or boto3.session.Session(profile_name=self.options.profile).region_name
                or "us-east-1",
                profile=self.options.profile,
                endpoint_url=self.options.endpoint_url,
            )
            network = Ec2Network(AwsClient(target))
            host_key_file = data_dir / "host_keys.json"
            store_file = data_dir / "machines.json"
            ssh_from_cidr = ssh_from_cidr or ""
        if mode == "sandbox":
            message = self._sandbox_note(message)
        self.status = Status(
            mode=mode, region=target.region, profile=target.profile, message=message
        )
        self.ec2, self.ssm = AwsClient(target), AwsClient(target, "ssm")
        # The Pricing API lives in us-east-1 whatever the region; the sandbox has none.
        self.pricing = None if mode == "sandbox" else AwsClient(target, "pricing", PRICING_REGION)
        key_file = data_dir / "id_ed25519"
        context = LinkContext(
            ec2=self.ec2,
            network=network,
            client_key=load_or_create_client_key(key_file),
            host_keys=HostKeyStore(host_key_file),
            remote_python=self.options.remote_python,
            bootstrap=BootstrapOptions(
                python=self.options.remote_python,
                env_roots=self.options.machine_env_roots,
                wheelhouse=Path(self.options.wheelhouse) if self.options.wheelhouse else None,
                # Sandbox machines share this computer: never install a system service here.
                service="setsid" if mode == "sandbox" else "auto",
                gateway_settings=self.options.machine_server,
            ),
            openssh_forward=self._openssh_forwarding(key_file, host_key_file.parent),
        )
        self.orchestrator = MachineOrchestrator(
            context,
            store=MachineStore(store_file),
            gateways=self.gateways,
            list_kernelspecs=self._list_kernelspecs,
            forget_kernels=self._forget_kernels,
            emit=self._emit,
            ssh_from_cidr=ssh_from_cidr,
            detect_cidr=public_cidr,
            regions=() if mode == "sandbox" else self.options.regions,
        )
        await self.orchestrator.reconcile()

    def _openssh_forwarding(self, key_file: Path, folder: Path) -> OpenSSHForwarding | None:
        choice, ssh = self.options.ssh_forward, openssh_client()
        if choice == "asyncssh" or (choice == "auto" and ssh is None):
            return None
        if ssh is None:
            raise CloudError(
                "c.CloudLab.ssh_forward is 'openssh' but no `ssh` client is on PATH: install "
                "OpenSSH's client, or set it to 'auto'."
            )
        return OpenSSHForwarding(ssh, key_file, folder / "forward_known_hosts")

    async def stop(self) -> None:
        """Detach from machines (idempotent); the sandbox's machines power off with it."""
        orchestrator, sandbox = self.orchestrator, self.sandbox
        self.orchestrator, self.sandbox = None, None
        if orchestrator is not None:
            await orchestrator.close()
        if sandbox is not None:
            await sandbox.stop()

    async def _cached(self, key: str, fetch: Any) -> Any:
        hit = self._catalog_cache.get(key)
        if hit and time.monotonic() - hit[0] < CATALOG_TTL_SECONDS:
            return hit[1]
        value = await fetch()
        self._catalog_cache[key] = (time.monotonic(), value)
        return value

    async def instance_types(self) -> list[catalog.InstanceType]:
        assert self.ec2 is not None
        ec2, pricing = self.ec2, self.pricing
        return await self._cached("types", lambda: catalog.offered_instance_types(ec2, pricing))

    async def images(self) -> list[catalog.Image]:
        assert self.ec2 is not None and self.ssm is not None
        ec2, ssm = self.ec2, self.ssm
        return await self._cached("images", lambda: catalog.offered_images(ec2, ssm))

    def machines(self) -> list[Machine]:
        return self.orchestrator.list() if self.orchestrator else []
