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


def foreign_kernel_classes(serverapp: Any) -> str:
    """A sentence naming the kernel classes another package (or the user's config) set in place
    of CloudLab's, so machine kernels are off; empty when CloudLab's classes are in use."""
    in_use = {
        "kernel_manager_class": type(getattr(serverapp, "kernel_manager", None)),
        "kernel_spec_manager_class": type(getattr(serverapp, "kernel_spec_manager", None)),
        "kernel_websocket_connection_class": getattr(
            serverapp, "kernel_websocket_connection_class", None
        ),
    }
    ours = {
        "kernel_manager_class": CloudLabKernelManager,
        "kernel_spec_manager_class": CloudLabKernelSpecManager,
        "kernel_websocket_connection_class": _websocket_class(),
    }
    foreign = [
        f"{trait} = {_class_name(used)}"
        for trait, used in in_use.items()
        if not (isinstance(used, type) and issubclass(used, ours[trait]))
    ]
    if not foreign:
        return ""
    return (
        f"Machine kernels are off: the Jupyter server uses ServerApp.{', ServerApp.'.join(foreign)}"
        " (set by another package or your Jupyter config) in place of CloudLab's. Remove that "
        "setting, or that package, to run kernels on machines; the panel still launches them."
    )


def _websocket_class() -> type:
    from .relay.connection import CloudLabWebsocketConnection  # the relay only when asked

    return CloudLabWebsocketConnection


def _class_name(value: Any) -> str:
    return f"{value.__module__}.{value.__qualname__}" if isinstance(value, type) else repr(value)


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
