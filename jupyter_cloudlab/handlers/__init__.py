"""REST API: parse with pydantic, call the backend, reply. No logic."""

from __future__ import annotations

from typing import Any

from .account import AccountHandler
from .catalog import ImagesHandler, InstanceTypesHandler, StatusHandler
from .kernelspec_logos import ROUTE as KERNELSPEC_LOGO_ROUTE
from .kernelspec_logos import MachineKernelspecLogoHandler
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
        # Not REST: machine kernelspecs' logos, in place of jupyter_server's resource handler.
        (KERNELSPEC_LOGO_ROUTE, MachineKernelspecLogoHandler),
    ]
