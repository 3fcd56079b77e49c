"""REST API: parse with pydantic, call the backend, reply. No logic."""

from __future__ import annotations

from typing import Any

from .account import AccountHandler
from .catalog import ImagesHandler, InstanceTypesHandler, StatusHandler
from .kernelspec_logos import ROUTE as KERNELSPEC_LOGO_ROUTE
from .kernelspec_logos import MachineKernelspecLogoHandler
from .machine_guard import MachineGuardHandler
from .machine_lifecycle import (
    MachineDismissHandler,
    MachineImageHandler,
    MachineResizeHandler,
    MachineRetryHandler,
)
from .machine_log import MachineLogHandler
from .machines import (
    MachineActionHandler,
    MachineConnectionHandler,
    MachineHandler,
    MachinesHandler,
)

API_PREFIX = "cloudlab/api"
MACHINE_ID = r"(?P<machine_id>[^/]+)"


def api_routes() -> list[tuple[str, Any]]:
    """(pattern, handler) pairs relative to the server's base URL."""
    return [
        (rf"/{API_PREFIX}/status", StatusHandler),
        (rf"/{API_PREFIX}/account", AccountHandler),
        (rf"/{API_PREFIX}/catalog/instance-types", InstanceTypesHandler),
        (rf"/{API_PREFIX}/catalog/images", ImagesHandler),
        (rf"/{API_PREFIX}/machines", MachinesHandler),
        (rf"/{API_PREFIX}/machines/{MACHINE_ID}", MachineHandler),
        (
            rf"/{API_PREFIX}/machines/{MACHINE_ID}/(?P<action>stop|start|reboot)",
            MachineActionHandler,
        ),
        (rf"/{API_PREFIX}/machines/{MACHINE_ID}/connection", MachineConnectionHandler),
        (rf"/{API_PREFIX}/machines/{MACHINE_ID}/retry", MachineRetryHandler),
        (rf"/{API_PREFIX}/machines/{MACHINE_ID}/resize", MachineResizeHandler),
        (rf"/{API_PREFIX}/machines/{MACHINE_ID}/image", MachineImageHandler),
        (rf"/{API_PREFIX}/machines/{MACHINE_ID}/dismiss", MachineDismissHandler),
        (rf"/{API_PREFIX}/machines/{MACHINE_ID}/guard", MachineGuardHandler),
        (rf"/{API_PREFIX}/machines/{MACHINE_ID}/log", MachineLogHandler),
        # Not REST: machine kernelspecs' logos, in place of jupyter_server's resource handler.
        (KERNELSPEC_LOGO_ROUTE, MachineKernelspecLogoHandler),
    ]
