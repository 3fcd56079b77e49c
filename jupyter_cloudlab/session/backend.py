"""The backend the handlers use: the current account session, swapped whole under a lock."""

from __future__ import annotations

import asyncio
import logging

from ..cloud.account import check_choice
from ..errors import CloudLabError, ErrorKind
from ..kernels.machine_servers import MachineServerRegistry
from ..models import AccountChoice, Status
from .account_session import AccountSession
from .factory import choose_mode, open_session, sandbox_status
from .options import ServerHooks, SessionOptions

log = logging.getLogger(__name__)


class CloudLabBackend:
    def __init__(self, options: SessionOptions, hooks: ServerHooks) -> None:
        self._configured = options
        """The server's own configuration, before any setting."""
        self._options = options
        """What the current session was (or failed to be) opened with."""
        self._hooks = hooks
        self._session: AccountSession | None = None
        self._swapping = asyncio.Lock()
        self._stopped = False
        self.ready = asyncio.Event()
        """Set once the first session opened (or failed to), and again after each swap."""
        self.startup_error: str | None = None

    @property
    def machine_servers(self) -> MachineServerRegistry:
        return self._hooks.machine_servers

    @property
    def current(self) -> AccountSession | None:
        """The session now, if one is open (without waiting)."""
        return self._session

    async def session(self) -> AccountSession:
        """The open session, once ready; an unavailable sentence when it could not open."""
        await self.ready.wait()
        if self._session is None:
            raise CloudLabError(
                self.startup_error or "CloudLab is not running.", ErrorKind.unavailable
            )
        return self._session

    async def start(self) -> None:
        async with self._swapping:
            await self._open(self._options)

    async def choose_account(self, choice: AccountChoice) -> Status:
        """Use the profile and region picked in JupyterLab's settings (None: the server's own).

        Machines are detached, never stopped, and found again by their tags. While no
        credentials are found the sandbox carries on: its machines live only as long as it does.
        """
        check_choice(choice.profile, choice.region)
        wanted = self._options.for_account(choice, self._configured)
        async with self._swapping:
            await self.ready.wait()
            current = self._session
            unchanged = (wanted.profile, wanted.region) == (
                self._options.profile,
                self._options.region,
            )
            if unchanged and current is not None:
                return current.status
            mode, message = await asyncio.to_thread(choose_mode, wanted)
            if mode == "sandbox" and current is not None and current.sandbox is not None:
                self._options = wanted
                self._session = current.renamed(wanted, sandbox_status(wanted, message))
                return self._session.status
            self.ready.clear()
            self._session = None
            if current is not None:
                await current.close()
            await self._open(wanted)
        return (await self.session()).status

    async def _open(self, options: SessionOptions) -> None:
        self._options = options
        try:
            session = await open_session(options, self._hooks)
        except CloudLabError as error:  # a sentence for the user (no credentials, no sandbox)
            self.startup_error = f"CloudLab could not start: {error.message}"
            log.warning("%s", self.startup_error)
        except Exception as error:  # a bug: its traceback goes to the log
            self.startup_error = f"CloudLab could not start: {error}"
            log.exception("CloudLab could not open a session")
        else:
            if self._stopped:  # the server stopped while this one opened
                await session.close()
            else:
                self._session, self.startup_error = session, None
        finally:
            self.ready.set()

    async def stop(self) -> None:
        """Detach from machines (idempotent): they keep running; the sandbox's power off."""
        self._stopped = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
