"""Runs ON the machine, beside cloudlab_server (uploaded with it). The machine server's files,
confined to its root through symlinks too.

jupyter_server keeps API paths under its root by their spelling only: a symlink in the home
folder that points at /etc or another user's files is followed. The laptop's JupyterLab shows
the machine's files as a drive, so here every path the contents API or /files/ touches must
resolve (symlinks followed) inside the root; one that leaves it is 404, as a missing file, and
a folder's listing leaves it out (as jupyter_server leaves out a symlink loop).
"""

from __future__ import annotations

import contextvars
import errno
import os
from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado.web import HTTPError


def resolves_inside(path: str, root: str) -> bool:
    """Whether `path`, with every symlink on the way resolved, is `root` or below it. A path
    that does not exist yet resolves through its existing parents (a new file, a rename)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


# Set while a folder is listed: an entry leading outside is then skipped, not an error.
_listing: contextvars.ContextVar[bool] = contextvars.ContextVar("listing", default=False)


class ConfinedContentsManager(AsyncLargeFileManager):
    def _get_os_path(self, path: str) -> str:
        os_path: str = super()._get_os_path(path)
        if not resolves_inside(os_path, self.root_dir):
            if _listing.get():
                # jupyter_server's listing skips entries that fail with ELOOP, silently.
                raise OSError(errno.ELOOP, "leads outside the machine's home folder")
            raise HTTPError(404, f"{path} leads outside the machine's home folder")
        return os_path

    async def _dir_model(self, path: str, content: bool = True) -> Any:
        token = _listing.set(True)
        try:
            return await super()._dir_model(path, content=content)
        finally:
            _listing.reset(token)
