"""A running machine's server log, for JupyterLab's log tab (the CLI's `logs` over REST)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import CloudLabError, ErrorKind
from ..models import MachineLog
from .base import CloudLabHandler

DEFAULT_LINES = 200


class MachineLogHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def get(self, machine_id: str) -> None:
        """200 with the last `lines` lines; 400 for a bad count, 409 when it does not run."""
        raw = self.get_query_argument("lines", str(DEFAULT_LINES))
        if not raw.isdigit():
            raise CloudLabError("lines must be a whole number, e.g. 200.", ErrorKind.invalid)
        lines = int(raw)
        session = await self.session()
        text = await session.server_log(machine_id, lines)
        self.reply(MachineLog(machine_id=machine_id, lines=lines, text=text))
