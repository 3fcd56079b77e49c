"""A machine's kernel, standing where a local KernelManager would."""

from __future__ import annotations

from collections.abc import Callable

from traitlets import Dict, Instance, Set, Unicode
from traitlets.config import LoggingConfigurable

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

    @property
    def machine_server(self) -> MachineServer | None:
        """The machine's current server (its forward's port changes when the tunnel heals);
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
