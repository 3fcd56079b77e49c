"""A machine's kernel, standing where a local KernelManager would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Instance, Set, Unicode
from traitlets.config import LoggingConfigurable

from .kernel_files import KernelWorkspace, MachineFiles
from .machine_servers import MachineServer
from .server_client import MachineServerClient, MachineServerError


class MachineKernel(LoggingConfigurable):
    """Stands where a KernelManager would for a kernel that runs on a machine.

    ``get_kernel()`` returns it and the websocket handler passes it as ``parent`` to the connection
    class, which reads the machine server and kernel id from it. Its ``parent`` is the mapping manager.
    """

    kernel_id = Unicode(help="The kernel's id, the same here and on the machine server.")
    kernel_name = Unicode(help="The local name, cloudlab.<machine_id>.<remote name>.")
    machine_id = Unicode()
    remote_name = Unicode()
    model = Dict(help="The last kernel model the machine server returned.")
    _machine_server = Instance(MachineServer, allow_none=True)
    _closers = Set()
    notebook_path = Unicode(
        None,
        allow_none=True,
        help="The local API path of the notebook the kernel was started for; None: none (a "
        "console, a kernel started by REST) or not known yet (a kernel re-adopted at start).",
    )
    notebook_path_known = Bool(False, help="Whether notebook_path was set or looked up.")
    _workspace = AnyTrait(None, allow_none=True)
    _workspace_files = AnyTrait(None, allow_none=True)

    @property
    def machine_server(self) -> MachineServer | None:
        """The machine's current server (a new link to the machine has a new local socket);
        None for a kernel restored from the state file whose machine is not connected yet."""
        registry = getattr(self.parent, "machine_servers", None)
        current = registry.get(self.machine_id) if registry is not None else None
        return current or self._machine_server

    @property
    def client(self) -> MachineServerClient:
        machine_server = self.machine_server
        if machine_server is None:
            raise MachineServerError(599, f"machine {self.machine_id} is not connected yet")
        return MachineServerClient(machine_server)

    def keep_workspace(
        self, notebook_path: str | None, files: MachineFiles | None, workspace: Any
    ) -> None:
        """Remember the workspace the kernel was started in (see ``workspace``)."""
        self.notebook_path, self.notebook_path_known = notebook_path, True
        self._workspace_files, self._workspace = files, workspace

    @property
    def mirrored(self) -> bool:
        """Whether the machine's mirror is on now (cheap: checked before each browser frame)."""
        machine_server = self.machine_server
        return machine_server is not None and machine_server.files is not None

    async def workspace(self) -> KernelWorkspace | None:
        """The kernel's workspace on its machine's current mirror; None when the mirror is off.

        A new link (reconnect, mirror turned back on) has a new mirror: the folder is opened on
        it again. A kernel re-adopted at start has its notebook looked up in the sessions first
        (``find_notebook_path`` of the manager); without one it works in the workspace root.
        Raises what the mirror raises.
        """
        machine_server = self.machine_server
        files = machine_server.files if machine_server is not None else None
        if files is None:
            return None
        if self._workspace is not None and self._workspace_files is files:
            workspace: KernelWorkspace = self._workspace
            return workspace
        if not self.notebook_path_known:
            finder = getattr(self.parent, "find_notebook_path", None)
            self.notebook_path = await finder(self.kernel_id) if finder is not None else None
            self.notebook_path_known = True
        workspace = await files.open(self.notebook_path)
        self._workspace_files, self._workspace = files, workspace
        return workspace

    @property
    def execution_state(self) -> str:
        return str(self.model.get("execution_state", "unknown"))

    def add_closer(self, closer: Callable[[int, str], None]) -> None:
        """Register a relay to close when this kernel leaves our lists."""
        self._closers.add(closer)

    def remove_closer(self, closer: Callable[[int, str], None]) -> None:
        self._closers.discard(closer)

    def close_connections(self, code: int, reason: str) -> None:
        """Close the browser sockets relayed to this kernel (JupyterLab then shows its state)."""
        for closer in list(self._closers):
            closer(code, reason)
        self._closers.clear()
