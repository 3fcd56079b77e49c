"""A machine's guard: its idle limit, budget, "keep running until" and "stop when this cell
finishes", sent to the machine, which enforces them itself (machine_side/cloudlab_guard.py)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import GuardChange
from .base import CloudLabHandler


class MachineGuardHandler(CloudLabHandler):
    @web.authenticated
    @authorized
    async def put(self, machine_id: str) -> None:
        """200 with the machine as its guard now says; 409 when it is not ready, 503 when it
        did not take the change."""
        change = self.parse_body(GuardChange)
        session = await self.session()
        self.reply(await session.change_guard(machine_id, change))
