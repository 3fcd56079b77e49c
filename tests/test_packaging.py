"""The wheel, installed as a user installs it: `pip install jupyter_cloudlab` in a fresh virtual
environment, without node and without the `sandbox` extra, gives a working extension.

Builds the wheel from this tree (the labextension must be built first: `make test` builds it in
its `js` step), installs it with pip from this machine's configured index, and runs the commands
a user runs to check an extension. Selected alone with `pytest -m packaging`; about a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from jupyter_cloudlab.pytest_plugin import cloudlab_require

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parent.parent
VERSION = json.loads((ROOT / "package.json").read_text())["version"]
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
INSTALL_TIMEOUT = 420
COMMAND_TIMEOUT = 120
# Everything a build or the shell of this test could lend the fresh environment.
BORROWED = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH")
AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

# The status sentence of a fresh install without AWS credentials, from the session factory.
STATUS_SCRIPT = """
import json, sys, tempfile
from pathlib import Path
import jupyter_cloudlab.app
from jupyter_cloudlab.data_folder import DataFolder
from jupyter_cloudlab.session.factory import choose_mode
from jupyter_cloudlab.session.options import SessionOptions

options = SessionOptions(
    mode="auto", region="", profile=None, endpoint_url=None,
    data_folder=DataFolder(Path(tempfile.mkdtemp())), remote_python="python3",
    ssh_from_cidr="", sandbox_ssh_server="asyncssh",
)
mode, sentence = choose_mode(options)
print(json.dumps({"mode": mode, "sentence": sentence, "moto_loaded": "moto" in sys.modules}))
"""


class FreshEnvironment:
    """A virtual environment with only the wheel installed, and a PATH without node."""

    def __init__(self, folder: Path) -> None:
        self.bin = folder / "venv" / "bin"
        home = folder / "jupyter"
        self.env = {k: v for k, v in os.environ.items() if k not in BORROWED + AWS_VARIABLES}
        self.env.update(
            PATH=str(self.bin),
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_DATA_DIR=str(home / "data"),
            # No credentials, and no probe of an EC2 metadata service that is not there.
            AWS_CONFIG_FILE=str(folder / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(folder / "no-aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
        )

    def run(self, *command: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """stdout and stderr together, colours removed (jupyter's lists write to stderr)."""
        done = subprocess.run(
            command,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = ANSI_COLOUR.sub("", done.stdout + done.stderr)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{output}"
        return output


def _build_wheel(into: Path) -> Path:
    cloudlab_require(
        (ROOT / "jupyter_cloudlab" / "labextension" / "static" / "style.js").is_file(),
        "the labextension is not built",
        "run `make js` (or `jlpm build`) before this test",
    )
    for backend in ("hatchling", "hatch_nodejs_version", "hatch_jupyter_builder"):
        cloudlab_require(
            find_spec(backend) is not None,
            f"{backend} is missing here",
            "install the [build-system] requires",
        )
    # The build backend of this environment ([build-system] requires, installed by `make`).
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip_wheel, "--wheel-dir", str(into), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
    )
    (wheel,) = into.glob("jupyter_cloudlab-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> FreshEnvironment:
    """The wheel installed with `pip install` into a new virtual environment."""
    folder = tmp_path_factory.mktemp("packaging")
    wheel = _build_wheel(folder / "wheel")
    subprocess.run(
        [sys.executable, "-m", "venv", str(folder / "venv")], check=True, timeout=COMMAND_TIMEOUT
    )
    fresh = FreshEnvironment(folder)
    assert shutil.which("node", path=fresh.env["PATH"]) is None
    fresh.run(
        str(fresh.bin / "python"), "-m", "pip", "install", "-q", str(wheel), timeout=INSTALL_TIMEOUT
    )
    return fresh


def test_server_extension_is_enabled_and_validates(installed: FreshEnvironment) -> None:
    # Given the wheel installed in a fresh environment without node
    # When the user lists the server extensions
    listing = installed.run("jupyter", "server", "extension", "list")

    # Then CloudLab is enabled and loads, at package.json's version
    assert re.search(r"^\s*jupyter_cloudlab enabled$", listing, re.MULTILINE), listing
    assert re.search(rf"^\s*jupyter_cloudlab {re.escape(VERSION)} OK$", listing, re.M), listing


def test_labextension_is_enabled_and_ok(installed: FreshEnvironment) -> None:
    # When the user lists JupyterLab's extensions
    listing = installed.run("jupyter", "labextension", "list")

    # Then the prebuilt panel is there, enabled and OK, from the Python package
    expected = rf"jupyter-cloudlab v{re.escape(VERSION)} enabled OK \(python, jupyter_cloudlab\)"
    assert re.search(expected, listing), listing


def test_without_the_sandbox_extra_the_status_says_how_to_get_it(
    installed: FreshEnvironment,
) -> None:
    # Given no AWS credentials and no `sandbox` extra (moto is not installed)
    missing = installed.run(
        "python", "-c", "import importlib.util as u; print(u.find_spec('moto'))"
    )
    assert missing.strip() == "None"

    # When the server's module is imported and the session factory picks the mode
    reply = json.loads(installed.run("python", "-c", STATUS_SCRIPT).strip().splitlines()[-1])

    # Then it imports without moto, and one sentence says how to get the sandbox
    assert reply["moto_loaded"] is False
    assert reply["mode"] == "sandbox"
    assert "pip install 'jupyter_cloudlab[sandbox]'" in reply["sentence"]
    assert reply["sentence"].count(". ") == 0 and reply["sentence"].endswith(".")
