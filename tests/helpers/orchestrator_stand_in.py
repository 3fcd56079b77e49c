"""A stand-in for the orchestrator: a server extension that a local server process loads
(``"jpserver_extensions": {"tests.helpers.orchestrator_stand_in": True}``)."""

from __future__ import annotations

import json
import os
from typing import Any

MACHINE_SERVER_ENV = "CLOUDLAB_TEST_MACHINE_SERVER"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "tests.helpers.orchestrator_stand_in"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the machine named in $CLOUDLAB_TEST_MACHINE_SERVER, as the orchestrator does once a
    machine's tunnel is up. Lets a test kill and restart a local server while "the machine"
    (a standalone jupyter_server) keeps running, which sandbox machines cannot (they live in
    the local server's process)."""
    from jupyter_cloudlab.kernels.config import attach_machine_servers
    from jupyter_cloudlab.kernels.machine_servers import MachineServer, MachineServerRegistry

    registry = MachineServerRegistry()
    assert attach_machine_servers(serverapp, registry)
    registry.add(MachineServer(**json.loads(os.environ[MACHINE_SERVER_ENV])))
