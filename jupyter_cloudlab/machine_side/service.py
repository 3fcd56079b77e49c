"""Runs ON the machine, with bootstrap.py: how the machine server process is started and found.

systemd (a system unit run as the user, started at boot) where systemd runs and sudo needs no
password, else a detached ``setsid`` process. Stdlib only (3.7+).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

STATE = Path.home() / ".cloudlab"
SOCKET = STATE / "gateway.sock"
"""Where the machine server listens: a Unix socket in a folder only its user may enter, so no
other user of the machine can listen there in its place, even after a reboot (a loopback port
could be taken while the server is down)."""
MAX_SOCKET_PATH_BYTES = 100  # sun_path: 108 bytes on Linux, 104 on macOS (sandbox machines)
HOST = "localhost"
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


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def private(folder: Path) -> bool:
    """Whether ``folder`` is a real folder (no symlink) of this user that no one else may enter,
    so that nobody else can have put a socket there."""
    try:
        info = os.lstat(str(folder))
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def tcp_listener_is_ours(port: int) -> bool:
    """Whether what listens on 127.0.0.1:``port`` is a socket of this user (/proc/net/tcp names
    each socket's owner). A server an earlier version started listens on a port: after a reboot
    another user may have taken it, and the token must not go there."""
    owners = set()
    for name, loopback in (("tcp", ("0100007F", "00000000")), ("tcp6", ())):
        try:
            lines = Path("/proc/net/" + name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:
                continue
            if name == "tcp" and address not in loopback:
                continue
            owners.add(int(fields[7]))
    return owners == {os.geteuid()}


def _get(endpoint: str | int, path: str, token: str, timeout: float) -> bytes | None:
    """The body of a GET that the machine server answered with 200; None when it did not, or
    when its socket (or port) is not this user's own: the token goes nowhere else. ``endpoint``:
    the server's socket path, or the loopback port of a server an earlier version started."""
    if isinstance(endpoint, str):
        if not private(Path(endpoint).parent):
            return None
        connection: http.client.HTTPConnection = _UnixHTTPConnection(endpoint, timeout)
    else:
        if not tcp_listener_is_ours(endpoint):
            return None
        connection = http.client.HTTPConnection("127.0.0.1", endpoint, timeout=timeout)
    try:
        # jupyter_server answers only a loopback Host while it is closed to remote access.
        connection.request("GET", path, headers={"Authorization": "token " + token, "Host": HOST})
        reply = connection.getresponse()
        body = reply.read()
        return body if reply.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def answers(endpoint: str | int, token: str) -> bool:
    return _get(endpoint, "/api/status", token, 2) is not None


def kernels_running(endpoint: str | int, token: str) -> bool:
    """Whether the machine server has kernels (when it can't say: assume it has, so none is killed)."""
    body = _get(endpoint, "/api/kernels", token, 5)
    try:
        return body is None or bool(json.loads(body))
    except ValueError:
        return True


def pick_socket(previous: str | int | None) -> str:
    """Where a new machine server listens: ~/.cloudlab/gateway.sock (~/.cloudlab is 0700). For a
    home too deep for a socket path (sun_path holds 108 bytes; a sandbox machine's home is deep),
    a folder of ours in the temporary folder: the previous one while it is still ours alone, else
    a new one (mkdtemp: atomic, 0700, a random name, so no one can have made it first).

    What is left at that path (the socket of a server that was stopped, is stopping, or no longer
    answers) is removed: the new server listens on a socket of its own there."""
    if len(os.fsencode(str(SOCKET))) <= MAX_SOCKET_PATH_BYTES:
        path = str(SOCKET)
    elif isinstance(previous, str) and private(Path(previous).parent):
        path = previous
    else:
        path = _new_socket_path()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return path


def _new_socket_path() -> str:
    for parent in (None, "/tmp"):
        folder = tempfile.mkdtemp(prefix="cloudlab-", dir=parent)
        path = os.path.join(folder, SOCKET.name)
        if len(os.fsencode(path)) <= MAX_SOCKET_PATH_BYTES:
            return path
        os.rmdir(folder)
    raise StepFailed(
        6, "No folder on the machine gives a short enough path for the server's socket."
    )


def ensure_private_state() -> None:
    """~/.cloudlab holds the token and the server's socket: a folder of this user, 0700."""
    STATE.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(str(STATE))
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise StepFailed(6, f"{STATE} is not a folder of this user: move it away and retry.")
    if info.st_mode & 0o077:
        os.chmod(str(STATE), 0o700)


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


def boot_started_server_answers(unit: str, endpoint: str | int, token: str) -> bool:
    """After a boot systemd starts the enabled unit by itself: wait for that one, not restart it."""
    state = subprocess.run(
        [*sudo(), "systemctl", "is-active", unit], capture_output=True, text=True
    ).stdout.strip()
    if state not in ("active", "activating"):
        return False
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if answers(endpoint, token):
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


def wait_ready(
    endpoint: str | int, token: str, process: subprocess.Popen | None, log: Path
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if answers(endpoint, token):
            return
        if process is not None and process.poll() is not None:
            raise StepFailed(4, f"The jupyter server on the machine exited:\n{tail(log)}")
        time.sleep(0.05)
    raise StepFailed(
        5, f"The jupyter server did not answer in {READY_TIMEOUT_S:.0f} s:\n{tail(log)}"
    )
