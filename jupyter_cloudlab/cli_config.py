"""Where `jupyter cloudlab` finds its settings: the server's own configuration.

The server extension reads `c.CloudLab` from the Jupyter config files (jupyter_server_config.py
or .json, in every folder of `jupyter --paths`) and from `--CloudLab.<name>=<value>` options.
The command line reads the same, with jupyter_core's own loader, so `list` looks in the region
(profile, endpoint, data folder) the server uses. Its own `--region` etc. win over both.
"""

from __future__ import annotations

from jupyter_core.application import JupyterApp
from traitlets import default

# What the command line takes from c.CloudLab (its other options concern the server only).
SHARED = ("region", "profile", "endpoint_url", "data_dir")
OPTION_PREFIX = "--CloudLab."


class _ServerConfig(JupyterApp):
    """Loads jupyter_server_config.* and --CloudLab.* options, as the server does."""

    name = "jupyter-cloudlab"
    description = "The jupyter_server configuration, as `jupyter cloudlab` reads it."

    @default("config_file_name")
    def _server_config_files(self) -> str:
        return "jupyter_server_config"


def split_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """(--CloudLab.* options, the rest of ARGV for the command's own parser)."""
    ours = [arg for arg in argv if arg.startswith(OPTION_PREFIX)]
    return ours, [arg for arg in argv if not arg.startswith(OPTION_PREFIX)]


def server_settings(options: list[str]) -> dict[str, str]:
    """The shared c.CloudLab settings: config files, then OPTIONS (--CloudLab.region=...)."""
    reader = _ServerConfig()
    reader.initialize(options)
    section = reader.config.get("CloudLab", {})
    return {name: str(section[name]) for name in SHARED if section.get(name)}
