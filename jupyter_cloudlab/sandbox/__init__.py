"""The embedded stand-in for AWS: a moto EC2 endpoint on loopback and local SSH "machines".

Its heavy dependencies (moto's server and what it pulls) come with the `sandbox` extra; the
modules here import them only when a sandbox starts, so the package imports without them.
"""

from __future__ import annotations

from importlib.util import find_spec

INSTALL_COMMAND = "pip install 'jupyter_cloudlab[sandbox]'"
# What `moto[server,ec2]` brings that the sandbox's EC2 endpoint imports.
_EXTRA_MODULES = ("moto", "werkzeug", "flask")


def sandbox_installed() -> bool:
    """Whether the `sandbox` extra is installed (checked without importing it)."""
    return all(find_spec(name) is not None for name in _EXTRA_MODULES)
