"""A real cut of a sandbox (OpenSSH) machine's link, from this host: its sshd stopped, the
sessions it serves killed, then sshd thawed. Also a command for the UI tests:

    python -m tests.helpers.sshd_cut cut-link INSTANCE_ID SECONDS
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from tests.helpers.host_processes import sshd_of_machine


def cut_link(machine_dir: Path | str, seconds: float) -> None:
    """Cut a sandbox (OpenSSH) machine's link for real, for ``seconds``: its sshd answers no new
    connection (SIGSTOP) and the sshd processes serving existing ones die (SIGKILL); then sshd is
    thawed and the tunnel heals by itself. Nothing on the machine but sshd is touched."""
    master, sessions = sshd_of_machine(machine_dir)
    os.kill(master, signal.SIGSTOP)
    try:
        for pid in sessions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(seconds)
    finally:
        os.kill(master, signal.SIGCONT)


if __name__ == "__main__":
    # python -m tests.helpers.sshd_cut cut-link <instance id> <seconds>   (used by the UI tests)
    if len(sys.argv) != 4 or sys.argv[1] != "cut-link":
        sys.exit("usage: python -m tests.helpers.sshd_cut cut-link INSTANCE_ID SECONDS")
    cut_link(f"/machines/{sys.argv[2]}/", float(sys.argv[3]))
