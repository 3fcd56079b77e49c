"""One mirrored folder: what was last synced, when a push is needed, and the pull schedule.

State, per file, is the stat on each side at the last sync (``Synced``): a file whose local stat
moved changed on the laptop, one whose machine stat moved changed on the machine, both: a
conflict. The laptop is the source of the folder: a local delete reaches the machine, a delete on
the machine is sent again at the next push. State lives in memory per Mirror; after a restart a
file identical on both sides (size and mtime, which a push sets) is adopted without a resend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from .batch_upload import ShellOpener
from .ignore import IgnoreRules
from .local_index import LocalIndex, LocalStat, walk
from .local_watch import ChangeWatch
from .machine_index import MachineStat
from .progress import Activity, Progress
from .transfer import ResumeBook
from .vocabulary import MirrorNotice, MirrorSettings, NoticeKind, SftpOpener

log = logging.getLogger(__name__)
MIB = 1024 * 1024
# A cell's files come back once no other cell has started for this long after it: back-to-back
# cells ("Run all") do not each pay a listing of the machine folder on the event loop that
# relays them, and nothing the last cell wrote waits more than a blink.
PULL_QUIET_SECONDS = 0.5
# ...but a stream of cells never holds the files back for longer than this.
PULL_AT_LEAST_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class Synced:
    local: LocalStat
    machine: MachineStat


def same_file(local: LocalStat, machine: MachineStat) -> bool:
    """Whether a local file and a machine file are the same version (a push copies the mtime)."""
    return local.size == machine.size and local.mtime_ns // 1_000_000_000 == machine.mtime


@dataclass
class MachineLink:
    """What every folder of one Mirror shares: the way to the machine and to the user."""

    machine_id: str
    sftp: SftpOpener
    notify: Callable[[MirrorNotice], None]
    settings: MirrorSettings
    shell: ShellOpener | None = None
    """For archives of small files (batch_upload.py); None: SFTP carries everything."""
    book: ResumeBook = field(default_factory=ResumeBook)
    activity: Activity = field(default_factory=Activity)


class FolderSync:
    """The mirror of one local folder at one machine folder."""

    def __init__(
        self, link: MachineLink, local_dir: Path, top: Path, api_path: str, machine_dir: str
    ) -> None:
        self.link = link
        self.local_dir = local_dir
        self.top = top
        """The local server's root: ignore files up to it apply, nothing above it."""
        self.api_path = api_path
        self.machine_dir = machine_dir
        self.synced: dict[str, Synced] = {}
        self.left_out: dict[str, LocalStat] = {}
        self.told_left_out: frozenset[str] = frozenset()
        self.told_refused: frozenset[str] = frozenset()
        self.lock = asyncio.Lock()
        self.rules = IgnoreRules(local_dir)
        self._watch = ChangeWatch()
        self._clean = False
        """The last push sent everything and the watch has run since: no walk needed."""
        self._pull_task: asyncio.Task[None] | None = None
        self._pull_again = False
        self._pull_due = 0.0
        self._pull_asked = 0.0
        """When the pull now waiting was first asked for."""

    # -- the laptop side ------------------------------------------------------------------------

    def needs_push(self) -> bool:
        """Cheap (one non-blocking read when nothing happened): whether a push must look."""
        return not self._clean or self._watch.maybe_changed()

    def mark(self, clean: bool) -> None:
        self._clean = clean

    def walk(self) -> LocalIndex:
        self._watch.start_round()
        self.rules = IgnoreRules.for_folder(self.local_dir, self.top)
        return walk(self.local_dir, self.rules, self._watch.watch)

    def local_total(self) -> int:
        return sum(entry.local.size for entry in self.synced.values())

    # -- telling the user -----------------------------------------------------------------------

    def tell(self, kind: NoticeKind, message: str, done: int = 0, total: int = 0) -> None:
        notice = MirrorNotice(
            self.link.machine_id,
            kind,
            message,
            self.api_path,
            done,
            total,
        )
        try:
            self.link.notify(notice)
        except Exception:  # a listener's bug must not break a sync
            log.exception("mirror notice listener failed")

    def progress(self, total: int, verb: str) -> Progress:
        def tell(done: int, total: int, final: bool) -> None:
            folder = self.api_path or "the workspace"
            if final:
                self.tell("done", f"{verb} {folder}: done ({total / MIB:.0f} MB).", done, total)
            else:
                message = f"{verb} {folder}: {done / MIB:.0f} of {total / MIB:.0f} MB"
                self.tell("progress", message, done, total)

        return Progress(total, tell)

    def tell_left_out(self, names: list[str], why: str) -> None:
        if names and frozenset(names) != self.told_left_out:
            self.told_left_out = frozenset(names)
            more = f" and {len(names) - 10} more" if len(names) > 10 else ""
            shown = ", ".join(names[:10]) + more
            self.tell("left_out", f"Not mirrored ({why}): {shown}.")

    # -- pulls in the background ----------------------------------------------------------------

    def schedule_pull(self, pull: Callable[[], Awaitable[object]]) -> None:
        """Run PULL once the kernel has been quiet a moment (see PULL_QUIET_SECONDS), or once
        more after the one running: repeated calls coalesce."""
        self._pull_due = _now() + PULL_QUIET_SECONDS
        if self._pull_task is not None and not self._pull_task.done():
            self._pull_again = True
            return
        self._pull_asked = _now()
        self._pull_task = asyncio.create_task(self._pull_loop(pull))

    def postpone_pull(self) -> None:
        """A cell starts: a pull not yet begun waits until the kernel is quiet again."""
        if self._pull_task is not None and not self._pull_task.done():
            self._pull_due = _now() + PULL_QUIET_SECONDS

    async def _pull_loop(self, pull: Callable[[], Awaitable[object]]) -> None:
        while True:
            await self._until_quiet()
            self._pull_again = False
            try:
                await pull()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                folder = self.api_path or "the workspace"
                self.tell(
                    "failed", f"Files of {folder} did not come back from the machine: {error}"
                )
            if not self._pull_again:
                return
            self._pull_asked = _now()

    async def _until_quiet(self) -> None:
        """Until no cell has started for PULL_QUIET_SECONDS (the due time moves with each
        cell), or the pull has waited PULL_AT_LEAST_EVERY_SECONDS."""
        give_up = self._pull_asked + PULL_AT_LEAST_EVERY_SECONDS
        while True:
            wait = min(self._pull_due, give_up) - _now()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def wait_pulls(self) -> None:
        """Until the scheduled pulls are done (tests, and a push that must see their result)."""
        while self._pull_task is not None and not self._pull_task.done():
            await asyncio.wait({self._pull_task})

    async def close(self) -> None:
        if self._pull_task is not None:
            self._pull_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pull_task
        self._watch.close()


def _now() -> float:
    return asyncio.get_running_loop().time()


def link_broken(error: BaseException) -> bool:
    """Errors that mean the link (or the machine's SFTP) failed, not our code."""
    return isinstance(error, (OSError, asyncssh.Error, EOFError))
