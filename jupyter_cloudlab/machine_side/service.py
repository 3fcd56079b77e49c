"""Runs ON the machine, with bootstrap.py: how the machine server process is started and found.

systemd (a system unit run as the user, started at boot) where systemd runs and sudo needs no
password, else a detached ``setsid`` process. Stdlib only (3.7+).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

STATE = Path.home() / ".cloudlab"
SANDBOX_MARKER = "CLOUDLAB_SANDBOX_MACHINE"
READY_TIMEOUT_S = 120.0
TAIL_LINES = 20
# Not passed on from the bootstrap's own environment: jupyter_server would take a JUPYTER_TOKEN
# there over the token file (and pass it on to every kernel).
NOT_INHERITED = ("JUPYTER_TOKEN",)


class StepFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def answers(port: int, token: str) -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except OSError:
        return False


def kernels_running(port: int, token: str) -> bool:
    """Whether the machine server has kernels (when it can't say: assume it has, so none is killed)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/kernels", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return bool(json.loads(reply.read()))
    except (OSError, ValueError):
        return True


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(previous: int | None) -> int:
    if previous and port_free(previous):
        return previous
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_old_server(marker: dict) -> None:
    unit = marker.get("unit")
    if marker.get("service") == "systemd" and unit:
        subprocess.run([*sudo(), "systemctl", "stop", unit], capture_output=True)
        return
    with contextlib.suppress(OSError, ValueError):
        os.kill(int((STATE / "gateway.pid").read_text()), signal.SIGTERM)


def sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo", "-n"]


def can_use_systemd(options: dict) -> bool:
    """systemd runs the machine, and we may install a unit (root or passwordless sudo)."""
    if options.get("service") == "setsid" or os.environ.get(SANDBOX_MARKER):
        return False
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return False
    if os.geteuid() == 0:
        return True
    return subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


def unit_text(user: str, argv: list[str], env_file: Path, log: Path) -> str:
    """A system unit run as the user: starts at boot, so a stopped/started machine is ready."""
    return "\n".join(
        [
            "[Unit]",
            f"Description=CloudLab machine server (jupyter_server) for {user}",
            "After=network.target",
            "",
            "[Service]",
            f"User={user}",
            f"WorkingDirectory={Path.home()}",
            f"EnvironmentFile={env_file}",
            "ExecStart=" + " ".join(systemd_quote(arg) for arg in argv),
            "Restart=on-failure",
            "RestartSec=2",
            f"StandardOutput=append:{log}",
            "StandardError=inherit",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def systemd_quote(arg: str) -> str:
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def start_systemd(argv: list[str], env: dict[str, str], log: Path) -> str:
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    unit = f"cloudlab-gateway-{user}.service"
    env_file = STATE / "gateway.env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{key}={value}\n" for key, value in env.items()))
    text = unit_text(user, argv, env_file, log)
    target = f"/etc/systemd/system/{unit}"
    subprocess.run([*sudo(), "tee", target], input=text, text=True, capture_output=True, check=True)
    for command in (["daemon-reload"], ["enable", unit], ["restart", unit]):
        subprocess.run([*sudo(), "systemctl", *command], capture_output=True, check=True)
    return unit


def boot_started_server_answers(unit: str, port: int, token: str) -> bool:
    """After a boot systemd starts the enabled unit by itself: wait for that one, not restart it."""
    state = subprocess.run(
        [*sudo(), "systemctl", "is-active", unit], capture_output=True, text=True
    ).stdout.strip()
    if state not in ("active", "activating"):
        return False
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if answers(port, token):
            return True
        time.sleep(0.05)
    return False


def start_setsid(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv,
            env={**{k: v for k, v in os.environ.items() if k not in NOT_INHERITED}, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(Path.home()),
            start_new_session=True,  # setsid: survives the SSH session's end
        )
    (STATE / "gateway.pid").write_text(str(process.pid))
    return process


def wait_ready(port: int, token: str, process: subprocess.Popen | None, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if answers(port, token):
            return
        if process is not None and process.poll() is not None:
            raise StepFailed(4, f"The jupyter server on the machine exited:\n{tail(log)}")
        time.sleep(0.05)
    raise StepFailed(
        5, f"The jupyter server did not answer in {READY_TIMEOUT_S:.0f} s:\n{tail(log)}"
    )
