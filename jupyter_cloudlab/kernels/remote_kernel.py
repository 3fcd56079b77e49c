"""A machine's kernel, standing where a local KernelManager would."""

from __future__ import annotations

from collections.abc import Callable

from traitlets import Dict, Instance, Set, Unicode
from traitlets.config import LoggingConfigurable

from .gateways import Gateway
from .remote import RemoteServerClient, RemoteServerError


class RemoteKernel(LoggingConfigurable):
    """Stands where a KernelManager would for a kernel that runs on a machine.

    ``get_kernel()`` returns it and the websocket handler passes it as ``parent`` to the connection
    class, which reads the gateway and kernel id from it. Its ``parent`` is the mapping manager.
    """

    kernel_id = Unicode(help="The kernel's id, the same here and on the gateway.")
    kernel_name = Unicode(help="The local name, cloudlab.<machine_id>.<remote name>.")
    machine_id = Unicode()
    remote_name = Unicode()
    model = Dict(help="The last kernel model the gateway returned.")
    _gateway = Instance(Gateway, allow_none=True)
    _closers = Set()

    @property
    def gateway(self) -> Gateway | None:
        """The machine's current gateway (its forward's port changes when the tunnel heals);
        None for a kernel restored from the state file whose machine is not connected yet."""
        registry = getattr(self.parent, "gateways", None)
        current = registry.get(self.machine_id) if registry is not None else None
        return current or self._gateway

    @property
    def client(self) -> RemoteServerClient:
        gateway = self.gateway
        if gateway is None:
            raise RemoteServerError(599, f"machine {self.machine_id} is not connected yet")
        return RemoteServerClient(gateway)

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
