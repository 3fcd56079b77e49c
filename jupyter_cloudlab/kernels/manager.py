"""A kernel manager that serves local kernels as usual and machines' kernels through their machine_servers.

Machine kernels are routed by NAME (``cloudlab.<machine_id>.<remote name>``), so a kernel can start
before any kernelspec listing. A machine kernel keeps the machine server's kernel id as its local id, so a
kernel stays the same object across local restarts and re-adoption.

Machine kernels outlive this server: shutting the server down, culling, or losing a machine's
tunnel only forgets them here; only an explicit DELETE (user action) shuts them down remotely.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from jupyter_client.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import (
    AsyncMappingKernelManager,
    MappingKernelManager,
)
from jupyter_server.utils import ApiPath
from tornado import web
from traitlets import Any as AnyTrait
from traitlets import Dict, Float, Instance, Unicode, default, observe

from .kernel_files import KernelWorkspace
from .kernel_map import load_kernel_map, save_kernel_map
from .machine_kernel import MachineKernel
from .machine_servers import MachineServer, MachineServerRegistry, parse_machine_kernel_name
from .notebook_path import notebook_api_path, saved_notebook_path
from .server_client import MachineServerClient, MachineServerError

# How long a kernel listing waits for a machine before showing the last known model instead.
LIST_TIMEOUT = 5.0


class CloudLabKernelManager(AsyncMappingKernelManager):
    """AsyncMappingKernelManager plus machine kernels on the machines in ``machine_servers``."""

    machine_servers = Instance(
        MachineServerRegistry,
        help="The machines offering kernels; the extension replaces it with the orchestrator's.",
    )
    remote_list_timeout = Float(
        LIST_TIMEOUT,
        config=True,
        help="Seconds a kernel listing waits for a machine before showing its last known state.",
    )
    state_file = Unicode(
        "",
        config=True,
        help="JSON file where the machine kernels (kernel id -> machine) are kept, so a restarted "
        "server finds them again; empty: not kept. The extension puts it in its data dir.",
    )
    _machine_kernels = Dict(key_trait=Unicode(), value_trait=AnyTrait())
    _known_machines: set[str]
    _adopt_tasks: set[asyncio.Task[Any]]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._adopt_tasks = set()
        self._restore()

    def _restore(self) -> None:
        """Kernels saved by an earlier run: listed at once (sessions keep them), live as soon
        as their machine's server is registered again."""
        for kernel_id, entry in load_kernel_map(self.state_file).items():
            machine_id, remote_name = entry["machine_id"], entry["remote_name"]
            self._machine_kernels[kernel_id] = MachineKernel(
                parent=self,
                log=self.log,
                kernel_id=kernel_id,
                kernel_name=f"cloudlab.{machine_id}.{remote_name}",
                machine_id=machine_id,
                remote_name=remote_name,
                model={"id": kernel_id, "name": remote_name, "execution_state": "unknown"},
            )
        if self._machine_kernels:
            self.log.info(
                "Restored %d machine kernel(s) from %s", len(self._machine_kernels), self.state_file
            )

    def _save(self) -> None:
        save_kernel_map(
            self.state_file,
            {
                kid: {"machine_id": kernel.machine_id, "remote_name": kernel.remote_name}
                for kid, kernel in self._machine_kernels.items()
            },
        )

    @default("machine_servers")
    def _default_servers(self) -> MachineServerRegistry:
        registry = MachineServerRegistry()
        self._watch(registry)
        return registry

    @observe("machine_servers")
    def _servers_replaced(self, change: dict[str, Any]) -> None:
        self._watch(change["new"])

    def _watch(self, registry: MachineServerRegistry) -> None:
        self._known_machines = {g.machine_id for g in registry.all()}
        registry.on_change(lambda: self._on_servers_changed(registry))

    def _on_servers_changed(self, registry: MachineServerRegistry) -> None:
        """A machine whose machine server went away takes its kernels with it (from our lists only)."""
        if registry is not self.machine_servers:
            return  # a registry we were given earlier and have since dropped
        current = {g.machine_id for g in registry.all()}
        for machine_id in self._known_machines - current:
            # Detach only: the orchestrator lets go of machines at server exit too, and their
            # kernels must then stay in the state file. forget_machine() is the real goodbye.
            self._detach_machine(machine_id)
        for machine_id in current - self._known_machines:
            self._schedule_adoption(machine_id)
        self._known_machines = current

    def _schedule_adoption(self, machine_id: str) -> None:
        """A machine came (back): take in its kernels, the ones restored from the file too."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # configuration time: listings adopt restored kernels when they come
        task = loop.create_task(self._adopt_quietly(machine_id))
        self._adopt_tasks.add(task)
        task.add_done_callback(self._adopt_tasks.discard)

    async def _adopt_quietly(self, machine_id: str) -> None:
        try:
            adopted = await self.adopt_kernels(machine_id)
        except (MachineServerError, web.HTTPError) as e:
            self.log.warning("Adopting the kernels of machine %s failed: %s", machine_id, e)
            return
        self.log.info("Adopted %d kernel(s) of machine %s", len(adopted), machine_id)

    # -- machine kernel bookkeeping ---------------------------------------------------------------------

    def is_machine_kernel(self, kernel_id: str) -> bool:
        return kernel_id in self._machine_kernels

    def machine_kernels(self) -> list[MachineKernel]:
        return list(self._machine_kernels.values())

    def _drop(self, kernel_id: str, code: int, reason: str, persist: bool = True) -> None:
        kernel = self._machine_kernels.pop(kernel_id, None)
        if kernel is not None:
            kernel.close_connections(code, reason)
            if persist:
                self._save()

    def forget_machine(self, machine_id: str) -> list[str]:
        """The machine stopped or was terminated: drop its kernels from our lists and from the
        state file, without touching them; returns their ids."""
        gone = self._detach_machine(machine_id)
        self._save()
        if gone:
            self.log.info("Forgot %d kernel(s) of machine %s", len(gone), machine_id)
        return gone

    def _detach_machine(self, machine_id: str) -> list[str]:
        """Drop a machine's kernels from our lists (browser sockets closed), keep the file."""
        gone = [
            kid for kid, kernel in self._machine_kernels.items() if kernel.machine_id == machine_id
        ]
        for kid in gone:
            self._drop(kid, 1001, "machine disconnected", persist=False)
        return gone

    def _server_for(self, machine_id: str) -> MachineServer:
        machine_server = self.machine_servers.get(machine_id)
        if machine_server is None:
            raise web.HTTPError(503, f"Machine {machine_id} is not connected")
        return machine_server

    def _adopt(self, machine_server: MachineServer, model: dict[str, Any]) -> MachineKernel:
        kernel_id = str(model["id"])
        remote_name = str(model.get("name", ""))
        kernel = self._machine_kernels.get(kernel_id)
        if kernel is None:
            kernel = MachineKernel(
                parent=self,
                log=self.log,
                kernel_id=kernel_id,
                kernel_name=f"cloudlab.{machine_server.machine_id}.{remote_name}",
                machine_id=machine_server.machine_id,
                remote_name=remote_name,
                _machine_server=machine_server,
            )
            self._machine_kernels[kernel_id] = kernel
            self._save()
        kernel.model = dict(model)
        return kernel

    async def adopt_kernels(self, machine_id: str) -> list[str]:
        """Take in every kernel running on a machine (at start, or after its tunnel healed)."""
        machine_server = self._server_for(machine_id)
        models = await MachineServerClient(machine_server).list_kernels()
        adopted = [self._adopt(machine_server, m).kernel_id for m in models]
        for kid, kernel in list(self._machine_kernels.items()):
            if kernel.machine_id == machine_id and kid not in adopted:
                self._drop(kid, 1000, "kernel gone")  # e.g. the machine rebooted meanwhile
        return adopted

    def _local_model(self, kernel: MachineKernel, model: dict[str, Any]) -> dict[str, Any]:
        """The machine server's model with our kernel name (the browser matches it to our kernelspec)."""
        return {**model, "id": kernel.kernel_id, "name": kernel.kernel_name}

    def _http_error(self, e: MachineServerError, action: str, kernel_id: str) -> web.HTTPError:
        self.log.warning("Remote %s of kernel %s failed: %s", action, kernel_id, e.message)
        code = 404 if e.status_code == 404 else (503 if e.unreachable else 502)
        return web.HTTPError(code, f"{action} of machine kernel failed: {e.message}")

    # -- what jupyter_server calls --------------------------------------------------------------

    def __contains__(self, kernel_id: object) -> bool:
        return kernel_id in self._machine_kernels or kernel_id in self._kernels

    def list_kernel_ids(self) -> list[str]:
        # Counted by the server's idle shutdown and its startup/shutdown messages.
        return [*super().list_kernel_ids(), *self._machine_kernels]

    def get_kernel(self, kernel_id: str) -> Any:
        kernel = self._machine_kernels.get(kernel_id)
        if kernel is not None:
            return kernel
        return super().get_kernel(kernel_id)

    async def start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, path: ApiPath | None = None, **kwargs: Any
    ) -> str:
        kernel_name = kwargs.get("kernel_name") or self.default_kernel_name
        parsed = parse_machine_kernel_name(kernel_name)
        if parsed is None:
            return str(await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs))
        if kernel_id is not None and kernel_id in self:
            return kernel_id
        machine_id, remote_name = parsed
        machine_server = self._server_for(machine_id)
        notebook_path = notebook_api_path(self.root_dir, path, kwargs.get("env"))
        workspace = await self._open_workspace(machine_server, notebook_path)
        # With the mirror on the kernel works in the mirror of its notebook's folder; off, in
        # the notebook's folder if the machine has one by that path, else its server's root.
        remote_path = workspace.machine_dir if workspace is not None else path
        try:
            model = await MachineServerClient(machine_server).start_kernel(remote_name, remote_path)
        except MachineServerError as e:
            raise self._http_error(e, "start", kernel_name) from e
        kernel = self._adopt(machine_server, model)
        kernel.keep_workspace(notebook_path, machine_server.files, workspace)
        self.log.info("Machine kernel started on %s: %s", machine_id, kernel.kernel_id)
        return kernel.kernel_id

    async def _open_workspace(
        self, machine_server: MachineServer, notebook_path: str | None
    ) -> KernelWorkspace | None:
        """Mirror the notebook's folder before its kernel starts; a failure is the start's
        (a kernel beside none of its files would fail later, and less clearly)."""
        if machine_server.files is None:
            return None
        try:
            return await machine_server.files.open(notebook_path)
        except Exception as e:
            self.log.warning("Mirroring %s to %s failed: %s", notebook_path, machine_server, e)
            raise web.HTTPError(
                503,
                f"The notebook's folder could not be copied to {machine_server.machine_name}: "
                f"{e}. The kernel was not started: try again, or turn the machine's mirror off.",
            ) from e

    async def find_notebook_path(self, kernel_id: str) -> str | None:
        """The notebook of a kernel's saved session (see notebook_path.saved_notebook_path)."""
        return saved_notebook_path(
            getattr(self.parent, "session_manager", None), self.root_dir, kernel_id
        )

    async def shutdown_kernel(  # type: ignore[override]
        self, kernel_id: str, now: bool = False, restart: bool = False
    ) -> None:
        kernel = self._machine_kernels.get(kernel_id)
        if kernel is None:
            await super().shutdown_kernel(kernel_id, now=now, restart=restart)
            return
        try:
            await kernel.client.shutdown_kernel(kernel_id)
        except MachineServerError as e:
            if e.status_code != 404:  # already gone there: just forget it here
                raise self._http_error(e, "shutdown", kernel_id) from e
        self._drop(kernel_id, 1000, "kernel shut down")
        self.log.info("Machine kernel shut down: %s", kernel_id)

    async def restart_kernel(self, kernel_id: str, now: bool = False) -> None:  # type: ignore[override]
        kernel = self._machine_kernels.get(kernel_id)
        if kernel is None:
            await super().restart_kernel(kernel_id, now=now)
            return
        try:
            kernel.model = await kernel.client.restart_kernel(kernel_id)
        except MachineServerError as e:
            raise self._http_error(e, "restart", kernel_id) from e

    async def interrupt_kernel(self, kernel_id: str) -> None:  # type: ignore[override]
        kernel = self._machine_kernels.get(kernel_id)
        if kernel is None:
            await ensure_async(super().interrupt_kernel(kernel_id))
            return
        try:
            await kernel.client.interrupt_kernel(kernel_id)
        except MachineServerError as e:
            raise self._http_error(e, "interrupt", kernel_id) from e

    def update_env(self, *, kernel_id: str, env: dict[str, str]) -> None:
        """Local kernels only: a machine kernel's environment was fixed when the machine started it.

        (SessionManager calls this on every session rename; the base class would KeyError.)
        """
        if kernel_id in self._machine_kernels:
            return
        super().update_env(kernel_id=kernel_id, env=env)

    async def kernel_model(self, kernel_id: str) -> dict[str, Any]:
        """Live model for a machine kernel; the usual model for a local one.

        Async on purpose: jupyter_server's handlers and SessionManager ``ensure_async`` it.
        MappingKernelManager.list_kernels calls it synchronously, hence our own list_kernels.
        """
        kernel = self._machine_kernels.get(kernel_id)
        if kernel is None:
            return dict(MappingKernelManager.kernel_model(self, kernel_id))
        try:
            model = await kernel.client.get_kernel(kernel_id)
        except MachineServerError as e:
            if e.unreachable:  # tunnel down or not yet up: the kernel is not dead for that
                return self._local_model(kernel, kernel.model)
            raise self._http_error(e, "status", kernel_id) from e
        if model is None:
            self._drop(kernel_id, 1000, "kernel gone")
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")
        kernel.model = model
        return self._local_model(kernel, model)

    async def list_kernels(self) -> list[dict[str, Any]]:
        kernels: list[dict[str, Any]] = []
        for kernel_id in MappingKernelManager.list_kernel_ids(self):
            with contextlib.suppress(web.HTTPError, KeyError):  # went away while we listed
                kernels.append(MappingKernelManager.kernel_model(self, kernel_id))
        machines = {kernel.machine_id for kernel in self._machine_kernels.values()}
        await asyncio.gather(*(self._refresh_machine(m) for m in machines))
        kernels.extend(
            self._local_model(kernel, kernel.model)
            for kernel in list(self._machine_kernels.values())
        )
        return kernels

    async def _refresh_machine(self, machine_id: str) -> None:
        """Update a machine's kernel models; drop those the machine server no longer has."""
        machine_server = self.machine_servers.get(machine_id)
        if machine_server is None:
            return
        try:
            models = await MachineServerClient(machine_server).list_kernels(
                timeout=self.remote_list_timeout
            )
        except MachineServerError as e:
            self.log.warning("Listing kernels of machine %s failed: %s", machine_id, e.message)
            return  # keep the last known models: a slow tunnel is not a dead kernel
        by_id = {str(m["id"]): m for m in models}
        for kid, kernel in list(self._machine_kernels.items()):
            if kernel.machine_id != machine_id:
                continue
            if kid in by_id:
                kernel.model = by_id[kid]
            else:
                self._drop(kid, 1000, "kernel gone")

    async def shutdown_all(self, now: bool = False) -> None:  # type: ignore[override]
        """Shut down local kernels; machine kernels are only forgotten (they outlive this server)."""
        if self._machine_kernels:
            self.log.info(
                "Detaching %d machine kernel(s); they keep running", len(self._machine_kernels)
            )
            for kid in list(self._machine_kernels):
                self._drop(kid, 1001, "server shutting down", persist=False)
        await super().shutdown_all(now=now)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        # The machine's own agent decides about idleness; the local culler never kills remotes.
        if kernel_id in self._machine_kernels:
            return
        await super().cull_kernel_if_idle(kernel_id)
