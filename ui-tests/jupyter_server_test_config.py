"""JupyterLab configuration for the CloudLab UI tests (Galata).

Started by ``jlpm start`` (start-server.js), which gives every run a fresh
JUPYTER_DATA_DIR. Environment:

- CLOUDLAB_UI_PORT: the port (default 8899).
- CLOUDLAB_UI_SERVER_EXTENSION=0: do not load the jupyter_cloudlab server
  extension (front end only, e.g. while the backend is being written).
"""

import os
import sys
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

REPO = Path(__file__).resolve().parent.parent

c.ServerApp.port = int(os.environ.get("CLOUDLAB_UI_PORT", "8899"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821

# Serve the front end built in this checkout (jupyter_cloudlab/labextension),
# whether or not the package is installed, before any installed copy.
_built = REPO / "jupyter_cloudlab" / "labextension"
_extra = [str(Path(c.LabServerApp.extra_labextensions_path))]  # noqa: F821
if (_built / "package.json").exists():
    _links = Path(tempfile.mkdtemp(prefix="cloudlab-ui-labextensions-"))
    (_links / "jupyter-cloudlab").symlink_to(_built, target_is_directory=True)
    _extra.insert(0, str(_links))
c.LabServerApp.extra_labextensions_path = _extra  # noqa: F821

if os.environ.get("CLOUDLAB_UI_SERVER_EXTENSION", "1") != "0":
    # The checkout's Python package, also when it is not installed.
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    c.ServerApp.jpserver_extensions = {"jupyter_cloudlab": True}  # noqa: F821
    # Never touch AWS from the UI tests: the embedded sandbox only.
    c.CloudLab.mode = "sandbox"  # noqa: F821
    # Machines served by a real OpenSSH sshd where it can run (root + sshd, as in CI): the
    # reconnect test cuts their link by acting on that sshd.
    if os.geteuid() == 0 and os.access("/usr/sbin/sshd", os.X_OK):
        c.CloudLab.sandbox_ssh_server = "openssh"  # noqa: F821
else:
    c.ServerApp.jpserver_extensions = {"jupyter_cloudlab": False}  # noqa: F821
