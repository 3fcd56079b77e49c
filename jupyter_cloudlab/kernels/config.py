"""How the extension plugs kernel mixing into jupyter_server.

ServerApp builds its kernel managers from class traits before extensions initialise their
settings, so the classes go in as config (``mixing_server_config``, pushed by the extension's
``serverapp_config``), and the machine registry is handed over afterwards (``attach_machine_servers``).
"""

from __future__ import annotations

from typing import Any

from ..data_folder import DataFolder
from .machine_servers import MachineServerRegistry
from .manager import CloudLabKernelManager
from .specs import CloudLabKernelSpecManager

KERNEL_MANAGER_CLASS = "jupyter_cloudlab.kernels.manager.CloudLabKernelManager"
KERNEL_SPEC_MANAGER_CLASS = "jupyter_cloudlab.kernels.specs.CloudLabKernelSpecManager"
KERNEL_WEBSOCKET_CONNECTION_CLASS = (
    "jupyter_cloudlab.kernels.relay.connection.CloudLabWebsocketConnection"
)


def mixing_server_config() -> dict[str, Any]:
    """The ServerApp traits that turn kernel mixing on (import strings, as config expects)."""
    return {
        "kernel_manager_class": KERNEL_MANAGER_CLASS,
        "kernel_spec_manager_class": KERNEL_SPEC_MANAGER_CLASS,
        "kernel_websocket_connection_class": KERNEL_WEBSOCKET_CONNECTION_CLASS,
    }


def persistence_server_config(folder: DataFolder) -> dict[str, dict[str, Any]]:
    """Where a restarted server finds its machine kernels (kernel -> machine) and its sessions
    (notebook -> kernel), both in the extension's data folder."""
    return {
        "CloudLabKernelManager": {"state_file": str(folder.kernel_map)},
        "SessionManager": {"database_filepath": str(folder.sessions_db)},
    }


def attach_machine_servers(serverapp: Any, registry: MachineServerRegistry) -> bool:
    """Give the orchestrator's registry to the server's kernel and kernelspec managers.

    Returns False (and changes nothing) when the server was configured with other classes, e.g.
    jupyter_server's own gateway mode, so the caller can warn that machine kernels are off.
    """
    km = getattr(serverapp, "kernel_manager", None)
    ksm = getattr(serverapp, "kernel_spec_manager", None)
    if not isinstance(km, CloudLabKernelManager) or not isinstance(ksm, CloudLabKernelSpecManager):
        return False
    km.machine_servers = registry
    ksm.machine_servers = registry
    return True
