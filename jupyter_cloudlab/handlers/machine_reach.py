"""Which machine server a proxy request goes to, or the sentence that says why none can answer.

Shared by the file/terminal REST proxy and the terminal websocket: a machine that is not ready
(stopped, starting) is a 409 with its state, one whose link is healing a 503, an unknown id a
404; all answered at once, never after a hang.
"""

from __future__ import annotations

from ..errors import CloudLabError, ErrorKind
from ..kernels.machine_servers import MachineServer
from ..models import MachineState, TunnelState
from ..session.backend import CloudLabBackend

PROXY_PREFIX = "cloudlab/machines"
# Our machine ids (``m-`` and hex); anything else never reaches the orchestrator.
MACHINE_ID = r"(?P<machine_id>m-[0-9a-f]{1,32})"


async def reachable_machine_server(backend: CloudLabBackend, machine_id: str) -> MachineServer:
    """The ready machine's server; raises a CloudLabError (404, 409, 503) otherwise."""
    machine = (await backend.session()).orchestrator.get(machine_id)  # MachineNotFound: 404
    if machine.state is not MachineState.ready:
        raise CloudLabError(
            f"The machine '{machine.name}' is {machine.state.value}: its files and terminals are "
            "reachable once it is ready (start it from the CloudLab panel).",
            ErrorKind.conflict,
        )
    machine_server = backend.machine_servers.get(machine_id)
    link = backend.machine_servers.link_status(machine_id)
    if machine_server is None or (link is not None and link.tunnel is not TunnelState.up):
        raise CloudLabError(
            f"The link to the machine '{machine.name}' is down and reconnecting: try again in a "
            "moment.",
            ErrorKind.unavailable,
        )
    return machine_server
