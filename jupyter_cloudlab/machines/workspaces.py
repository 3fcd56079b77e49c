"""Each connected machine's workspace mirror: built on its link's SFTP, switched per machine.

The session builds one ``Workspaces`` from the server's options (its root dir, size limit,
scope) and the event bus (notices); the connector gives each link a ``Mirror`` and hands it to
the kernel layer as the ``MachineServer``'s ``files`` while the machine's mirror is on. The REST
route that turns a machine's mirror on or off comes through here too (``set_mirror``), as the
connector is the one that knows the machine's server.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..models import Machine
from ..workspace.batch_upload import ShellOpener
from ..workspace.mirror import Mirror, MirrorNotice, MirrorSettings, SftpOpener

log = logging.getLogger(__name__)

MirrorSwitch = Callable[[str, bool], Machine]


@dataclass
class Workspaces:
    local_root: Path
    """The local jupyter server's root dir: notebook API paths are relative to it."""
    settings: MirrorSettings
    notify: Callable[[MirrorNotice], None]
    _switch: MirrorSwitch | None = field(default=None, repr=False)
    _mirrors: dict[str, Mirror] = field(default_factory=dict, repr=False)

    @property
    def machine_folder(self) -> str:
        """Where the mirrors live on each machine, as its user writes it (``~/cloudlab/work``)."""
        return f"~/{self.settings.machine_root}"

    def attach(self, switch: MirrorSwitch) -> None:
        """The connector that answers ``set_mirror`` (one per session)."""
        self._switch = switch

    def set_mirror(self, machine_id: str, enabled: bool) -> Machine:
        """Turn a machine's mirror on or off (its kernels' next cells follow)."""
        if self._switch is None:
            raise RuntimeError("no machine connector yet")
        return self._switch(machine_id, enabled)

    def open(self, machine_id: str, sftp: SftpOpener, shell: ShellOpener | None = None) -> Mirror:
        """The mirror of a new link (a machine connecting); replaces an older one's."""
        mirror = Mirror(machine_id, sftp, self.local_root, self.settings, self.notify, shell)
        self._mirrors[machine_id] = mirror
        return mirror

    def get(self, machine_id: str) -> Mirror | None:
        return self._mirrors.get(machine_id)

    async def close(self, machine_id: str) -> None:
        """The link goes: background pulls stop (never raises)."""
        mirror = self._mirrors.pop(machine_id, None)
        if mirror is not None:
            with contextlib.suppress(Exception):
                await mirror.close()
