"""Running `jupyter cloudlab ...` as a separate process, as from a terminal without a tty."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.rest_api import TRACEBACK_MARKERS

CLI_TIMEOUT = 120


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def terminal_env(tmp_path: Path) -> dict[str, str]:
    """A terminal with no AWS credentials anywhere and no Jupyter data dir override."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "JUPYTER_DATA_DIR"
    }
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-aws-credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # not on EC2: no instance role to find
    return env


async def run_cli(data_dir: Path, *args: str) -> Run:
    """Run `jupyter cloudlab ARGS --data-dir DATA_DIR` without a tty; the server keeps serving."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jupyter_cloudlab.cli",
        *args,
        "--data-dir",
        str(data_dir),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=terminal_env(data_dir.parent),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


def assert_no_traceback(run: Run) -> None:
    for marker in TRACEBACK_MARKERS:
        assert marker not in run.stderr + run.stdout, run
