"""Which notebook a kernel is started for: the workspace mirrors that notebook's folder.

jupyter_server's SessionManager calls ``start_kernel`` with ``path`` = the notebook's FOLDER
(``contents_manager.get_kernel_path``) and ``env["JPY_SESSION_NAME"]`` = the session's path
(the notebook, as an OS path under the root dir, or its API path when the session has no name).
The notebook's API path is that folder plus the session's file name, when that file exists: a
console's session path (``console-1-<uuid>``) names no file, so a console works in the
workspace root, as does a kernel started by REST without a session.
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

SESSION_NAME_ENV = "JPY_SESSION_NAME"


def notebook_api_path(
    root_dir: str, kernel_dir: str | None, env: Mapping[str, str] | None
) -> str | None:
    """The local API path of the notebook a kernel starts for (e.g. ``project/a.ipynb``), or
    None (no session, or a session whose path is not a file: a console)."""
    session_name = (env or {}).get(SESSION_NAME_ENV)
    if not session_name:
        return None
    file_name = os.path.basename(session_name.replace("\\", "/"))
    folder = (kernel_dir or "").strip("/")
    api_path = posixpath.join(folder, file_name) if folder else file_name
    return api_path if _is_file_under(root_dir, api_path) else None


def saved_notebook_path(session_manager: Any, root_dir: str, kernel_id: str) -> str | None:
    """The notebook of a kernel's saved session (a kernel re-adopted after a restart: sessions
    outlive restarts, see config.persistence_server_config); None when it has none. Read from
    the sessions table itself: the manager's own lookups ask every kernel for its model."""
    if session_manager is None:
        return None
    try:
        row = session_manager.cursor.execute(
            "SELECT path FROM session WHERE kernel_id=?", (kernel_id,)
        ).fetchone()
    except Exception as e:  # a sessions database of another shape: no workspace folder
        log.debug("No session found for kernel %s: %s", kernel_id, e)
        return None
    path = row[0] if row else None
    if not isinstance(path, str) or not path:
        return None
    api_path = path.strip("/")
    return api_path if _is_file_under(root_dir, api_path) else None


def _is_file_under(root_dir: str, api_path: str) -> bool:
    root = os.path.realpath(root_dir)
    os_path = os.path.realpath(os.path.join(root, *api_path.split("/")))
    return os_path.startswith(root + os.sep) and os.path.isfile(os_path)
