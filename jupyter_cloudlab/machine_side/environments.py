"""Runs ON the machine (loaded by prepare.py): the Python environments offered as kernels.

Environments that already have ipykernel (e.g. under /opt on Deep Learning AMIs) become
kernelspecs pointing at their own Python; nothing is installed into them. Only environments
no other user of the machine can change are even probed. Stdlib only (3.7+).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

try:  # imported as a package module (tests) or loaded beside it on the machine (see ssh/bootstrap)
    from .service import STATE
except ImportError:
    from cloudlab_service import STATE  # type: ignore[no-redef]

KERNEL_DIR = STATE / "jupyter" / "kernels"
ENV_PREFIX = "env-"
DISPLAY = {
    "pytorch": "PyTorch",
    "tensorflow": "TensorFlow",
    "tensorflow2": "TensorFlow 2",
    "mxnet": "MXNet",
    "jax": "JAX",
    "python3": "Python 3",
}


def display_name(env_dir: Path) -> str:
    first, _, rest = env_dir.name.partition("_")
    label = DISPLAY.get(first.lower(), first.replace("-", " ").title())
    return f"Python 3 ({label}{' ' + rest if rest else ''})"


def env_signature(python: Path) -> list[float]:
    try:
        return [python.lstat().st_mtime, python.parent.parent.stat().st_mtime]
    except OSError:
        return []


def trusted(path: Path) -> bool:
    """Whether only root and this user can change what runs at ``path``: the file and every
    folder above it, on the way there (symlinks as they are) and after resolving symlinks, are
    owned by root or us and writable by no group or other user. A group- or world-writable
    folder with the sticky bit (/tmp) is allowed above: others can't rename or replace what we
    own in it."""
    owners = (0, os.geteuid())

    def safe(entry: str, must_not_be_writable: bool) -> bool:
        info = os.lstat(entry)
        if info.st_uid not in owners:
            return False
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o022:
            return True
        return (
            not must_not_be_writable
            and stat.S_ISDIR(info.st_mode)
            and bool(info.st_mode & stat.S_ISVTX)
        )

    try:
        for chain in (Path(os.path.abspath(path)), Path(os.path.realpath(path))):
            if not safe(str(chain), must_not_be_writable=True):
                return False
            if not all(safe(str(folder), must_not_be_writable=False) for folder in chain.parents):
                return False
    except OSError:
        return False
    return True


def find_envs(roots: list[str], server_python: str, cached: dict) -> dict:
    """Environments under the roots whose bin/python imports ipykernel (results cached).

    Only trusted ones (``trusted``) are even probed: the bootstrap and the kernels run that
    python, so one that another user of the machine could replace is left out."""
    found = {}
    for root in roots:
        try:
            children = sorted(Path(root).iterdir())
        except OSError:
            continue
        for env_dir in children:
            python = env_dir / "bin" / "python"
            if str(python) == server_python or not os.access(python, os.X_OK):
                continue
            if not trusted(python):
                print(f"CloudLab: {python} left out: another user could change it", file=sys.stderr)
                continue
            signature = env_signature(python)
            entry = cached.get(str(python))
            if not entry or entry.get("signature") != signature:
                probe = [str(python), "-c", "import ipykernel"]
                ok = subprocess.run(probe, capture_output=True).returncode == 0
                entry = {"signature": signature, "ok": ok, "name": ENV_PREFIX + env_dir.name}
                entry["display_name"] = display_name(env_dir)
            found[str(python)] = entry
    return found


def write_kernelspecs(envs: dict) -> list[str]:
    """One kernelspec per usable environment, pointing at its Python: nothing installed there."""
    KERNEL_DIR.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for python, entry in envs.items():
        if entry["ok"] and entry["name"] not in wanted:
            wanted[entry["name"]] = {
                "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": entry["display_name"],
                "language": "python",
                "env": {"CONDA_PREFIX": str(Path(python).parent.parent)},
                "metadata": {"cloudlab": {"environment": str(Path(python).parent.parent)}},
            }
    for old in KERNEL_DIR.iterdir():
        if old.name.startswith(ENV_PREFIX) and old.name not in wanted:
            shutil.rmtree(old, ignore_errors=True)
    for name, spec in wanted.items():
        path = KERNEL_DIR / name / "kernel.json"
        text = json.dumps(spec, indent=1, sort_keys=True)
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
    return sorted(wanted)
