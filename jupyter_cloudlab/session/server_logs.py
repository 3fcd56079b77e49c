"""A machine's server log for the REST API, read over SSH as `jupyter cloudlab logs` reads it."""

from __future__ import annotations

import dataclasses

from ..cloud.network import Ec2Network
from ..cloud.regions import RegionClients
from ..errors import CloudLabError, ErrorKind
from ..machines.link import LinkContext, read_server_log
from ..models import Machine, MachineState
from ..ssh.host_keys import HostKeyChanged
from ..ssh.tunnel import MachineGone

# Bounds of a request: the reply itself is also cut at the bootstrap's MAX_LOG_BYTES.
MIN_LOG_LINES = 1
MAX_LOG_LINES = 5000
# States in which the instance runs and its server may have written a log.
RUNNING_STATES = (MachineState.connecting, MachineState.bootstrapping, MachineState.ready)


class ServerLogs:
    """Reads the last lines of a running machine's server log, on a connection of its own (the
    link's may be down, which is when a log is most wanted)."""

    def __init__(self, context: LinkContext) -> None:
        self._context = context
        self._clients = RegionClients(context.ec2)

    async def read(self, machine: Machine, lines: int) -> str:
        """409 (conflict) when the machine does not run; 503 when SSH fails."""
        if not MIN_LOG_LINES <= lines <= MAX_LOG_LINES:
            raise CloudLabError(
                f"Ask for {MIN_LOG_LINES} to {MAX_LOG_LINES} lines of the log.", ErrorKind.invalid
            )
        running = machine.state in RUNNING_STATES or (
            machine.state is MachineState.failed and machine.instance_state == "running"
        )
        if not running or machine.instance_id is None:
            raise CloudLabError(
                f"{machine.name} is {machine.state.value}: its server log can be read while it "
                "runs. Start it first.",
                ErrorKind.conflict,
            )
        context = self._context
        if machine.region != context.ec2.region:  # a machine of another watched region
            ec2 = self._clients.get(machine.region)
            context = dataclasses.replace(context, ec2=ec2, network=Ec2Network(ec2))
        try:
            return await read_server_log(
                context.ec2,
                context.network,
                context.client_key,
                context.host_keys,
                machine.instance_id,
                lines,
            )
        except MachineGone as e:
            raise CloudLabError(f"{machine.name}: {e}", ErrorKind.conflict) from e
        except HostKeyChanged as e:
            raise CloudLabError(str(e), ErrorKind.forbidden) from e
        except CloudLabError:
            raise
        except Exception as e:  # SSH refused or unreachable, the log unreadable: say it plainly
            raise CloudLabError(
                f"The server log of {machine.name} could not be read ({e}): try again.",
                ErrorKind.unavailable,
            ) from e
