"""Prepare a machine: run machine_side/prepare.py over SSH and learn where its machine server listens
(a Unix socket on the machine).

The machine-side script is idempotent and versioned (see its docstring); this side only feeds it its
options, uploads a wheelhouse over SFTP when the machine asks for one, and parses the result.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import asyncssh

from .gpu import MachineGpu, parse_nvidia_smi
from .machine_script import machine_script

BOOTSTRAP_TIMEOUT_SECONDS = 900  # a fresh machine may pip-install jupyter_server
STDERR_TAIL_LINES = 20
# What a machine prints is read with bounds (it may be compromised). The bootstrap prints one
# result line (kernelspec names, nvidia-smi's table: kilobytes); past this it is stopped.
MAX_STDOUT_BYTES = 1024 * 1024
# Of its stderr only the end is used (the failure's last lines), and each at most this long.
STDERR_TAIL_BYTES = 64 * 1024
MAX_TAIL_LINE_CHARS = 500
READ_CHUNK_BYTES = 64 * 1024
# The machine server log fetched for `jupyter cloudlab logs`: its last lines, at most this much.
MAX_LOG_BYTES = 1024 * 1024
NEED_WHEELHOUSE_EXIT = 10
DEFAULT_ENV_ROOTS = ("/opt/conda/envs", "/opt")
"""Where Deep Learning AMIs keep their framework environments (conda envs; /opt/pytorch)."""


class BootstrapFailed(Exception):
    pass


@dataclass(frozen=True)
class _Ran:
    exit_status: int | None
    stdout: str
    stderr_tail: str
    """The last STDERR_TAIL_LINES lines of stderr, each cut to MAX_TAIL_LINE_CHARS."""


async def _run_bounded(
    connection: asyncssh.SSHClientConnection,
    command: str,
    what: str,
    timeout: float,
    input: bytes | None = None,
    max_stdout: int = MAX_STDOUT_BYTES,
) -> _Ran:
    """Run ``command`` on the machine reading at most ``max_stdout`` bytes of its stdout (past
    that it is stopped: BootstrapFailed) and keeping only the end of its stderr."""
    stdout, stderr = bytearray(), bytearray()

    async def read_stdout(process: asyncssh.SSHClientProcess[bytes]) -> None:
        while chunk := await process.stdout.read(READ_CHUNK_BYTES):
            stdout.extend(chunk)
            if len(stdout) > max_stdout:
                raise BootstrapFailed(
                    f"{what} printed more than {max_stdout // (1024 * 1024)} MiB on the machine, "
                    "far more than it ever needs to; it was stopped. Check the machine's shell "
                    "startup files and Python for what prints."
                )

    async def read_stderr(process: asyncssh.SSHClientProcess[bytes]) -> None:
        while chunk := await process.stderr.read(READ_CHUNK_BYTES):
            stderr.extend(chunk)
            del stderr[:-STDERR_TAIL_BYTES]

    async def run() -> int | None:
        async with connection.create_process(command, input=input, encoding=None) as process:
            readers = [
                asyncio.ensure_future(read_stdout(process)),
                asyncio.ensure_future(read_stderr(process)),
            ]
            try:
                await asyncio.gather(*readers)
            finally:
                for reader in readers:
                    reader.cancel()
            return (await process.wait()).exit_status

    try:
        exit_status = await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError as error:
        raise BootstrapFailed(f"{what} did not finish in {timeout:.0f} s.") from error
    except asyncssh.Error as error:
        raise BootstrapFailed(f"{what} over SSH failed: {error}") from error
    lines = stderr.decode("utf-8", "replace").strip().splitlines()[-STDERR_TAIL_LINES:]
    tail = "\n".join(line[:MAX_TAIL_LINE_CHARS] for line in lines)
    return _Ran(exit_status, stdout.decode("utf-8", "replace"), tail)


@dataclass(frozen=True)
class BootstrapOptions:
    python: str = "python3"
    """The machine's Python that runs the bootstrap (and the machine server, if it has jupyter_server)."""
    env_roots: tuple[str, ...] = DEFAULT_ENV_ROOTS
    wheelhouse: Path | None = None
    """A local folder of wheels to upload for machines without internet (pip --no-index)."""
    service: str = "auto"
    """auto: systemd when it runs and sudo needs no password, else setsid; setsid: always."""
    isolated: bool = False
    """Install into ~/.cloudlab/venv even when `python` already has jupyter_server."""
    server_settings: tuple[tuple[str, object], ...] = ()
    """Keyword arguments of machine_side.cloudlab_server.server_config (culling,
    offline buffer bound); a running server started with others is restarted with these unless
    kernels run on it (then at a later bootstrap that finds none)."""


RemoteEnd = str | int
"""Where the machine server listens on the machine: its Unix socket's path, or (a server an
earlier version started, kept while kernels run on it) its port on the machine's 127.0.0.1."""
# Paths the machine may name for its server's socket: absolute, short enough for sun_path, and
# nothing that OpenSSH's -L would read as a separator.
MAX_REMOTE_SOCKET_BYTES = 100
_SOCKET_PATH = re.compile(r"/[^\x00-\x20:\x7f]*")


@dataclass(frozen=True)
class BootstrapResult:
    """The machine's jupyter_server: where it listens on the machine, and its token (a secret)."""

    token: str = field(repr=False)
    socket: str | None = None
    """Its Unix socket on the machine, in a folder only the machine's user can enter."""
    port: int | None = None
    """Instead of ``socket``: the loopback port of a server an earlier version started (it is
    replaced by one on a socket once a bootstrap finds it without kernels)."""
    gpu: MachineGpu | None = None
    service: str = "setsid"
    kernelspecs: tuple[str, ...] = ()
    installed: bool = False
    reused: bool = False
    outdated: bool = False
    """Reused though started with other code or settings, as kernels run on it."""
    phases: dict[str, float] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if (self.socket is None) == (self.port is None):
            raise ValueError("a machine server listens on a socket or a port: one of the two")

    @property
    def remote_end(self) -> RemoteEnd:
        return self.socket if self.socket is not None else int(self.port or 0)

    @property
    def gpu_label(self) -> str:
        return self.gpu.label if self.gpu is not None else "CPU"

    def __repr__(self) -> str:  # never print the token
        return f"BootstrapResult(at={self.remote_end!r}, token=***, gpu={self.gpu_label!r})"


def bootstrap_script() -> str:
    """One script for `python3 -`: machine_side's service.py, environments.py and prepare.py
    loaded as modules (in that order: each imports the ones before)."""
    return machine_script(
        [("cloudlab_service", "service.py"), ("cloudlab_environments", "environments.py")],
        ("cloudlab_prepare", "prepare.py"),
    )


def _options_json(options: BootstrapOptions) -> str:
    return json.dumps(
        {
            "env_roots": list(options.env_roots),
            "wheelhouse": options.wheelhouse is not None,
            "service": options.service,
            "isolated": options.isolated,
            "machine_server": _server_tuning(options),
        }
    )


def _server_tuning(options: BootstrapOptions) -> dict[str, object]:
    """The server modules uploaded to the machine and its server config."""
    from ..machine_side import cloudlab_server

    machine_side = resources.files("jupyter_cloudlab.machine_side")
    return {
        "modules": {
            name: machine_side.joinpath(f"{name}.py").read_text()
            for name in cloudlab_server.MODULES
        },
        "config": cloudlab_server.server_config(**dict(options.server_settings)),  # type: ignore[arg-type]
    }


async def bootstrap(
    connection: asyncssh.SSHClientConnection, options: BootstrapOptions | str
) -> BootstrapResult:
    """Ensure the machine server runs on the machine (reusing one that does) and return it."""
    if isinstance(options, str):
        options = BootstrapOptions(python=options)
    command = f"{shlex.quote(options.python)} - {shlex.quote(_options_json(options))}"
    script = bootstrap_script()
    for _attempt in range(2):
        result = await _run_bounded(
            connection, command, "The bootstrap", BOOTSTRAP_TIMEOUT_SECONDS, script.encode()
        )
        stdout = result.stdout
        if result.exit_status == NEED_WHEELHOUSE_EXIT and options.wheelhouse is not None:
            await upload_wheelhouse(connection, options.wheelhouse, _asked_dir(stdout))
            continue
        if result.exit_status != 0:
            raise BootstrapFailed(
                f"Setting up the machine failed (exit {result.exit_status}): "
                f"{result.stderr_tail or 'no output'}"
            )
        return parse_result(stdout)
    raise BootstrapFailed("The machine still asks for the wheelhouse after its upload.")


def parse_result(stdout: str) -> BootstrapResult:
    for line in stdout.splitlines():
        if line.startswith("CLOUDLAB-RESULT "):
            data = json.loads(line.split(" ", 1)[1])
            gpu_raw = data.get("gpu")
            gpu = parse_nvidia_smi(gpu_raw["query"], gpu_raw["header"]) if gpu_raw else None
            socket, port = _remote_end(data)
            return BootstrapResult(
                token=str(data["token"]),
                socket=socket,
                port=port,
                gpu=gpu,
                service=str(data.get("service", "setsid")),
                kernelspecs=tuple(data.get("kernelspecs", ())),
                installed=bool(data.get("installed")),
                reused=bool(data.get("reused")),
                outdated=bool(data.get("outdated")),
                phases={k: float(v) for k, v in data.get("phases", {}).items()},
            )
    raise BootstrapFailed("The bootstrap finished without saying where the machine server listens.")


def _remote_end(data: dict[str, object]) -> tuple[str | None, int | None]:
    """The result's ``socket`` (a path) or, from a server an earlier version started, ``port``."""
    socket, port = data.get("socket"), data.get("port")
    if isinstance(socket, str):
        if not _SOCKET_PATH.fullmatch(socket) or len(socket.encode()) > MAX_REMOTE_SOCKET_BYTES:
            raise BootstrapFailed(
                "The machine named a socket path for its server that CloudLab does not use: "
                f"{socket[:MAX_TAIL_LINE_CHARS]!r}"
            )
        return socket, None
    if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
        return None, port
    raise BootstrapFailed("The bootstrap finished without saying where the machine server listens.")


def _asked_dir(stdout: str) -> str:
    for line in stdout.splitlines():
        if line.startswith("CLOUDLAB-NEED-WHEELHOUSE "):
            return line.split(" ", 1)[1].strip()
    raise BootstrapFailed("The machine asked for a wheelhouse without saying where.")


async def upload_wheelhouse(
    connection: asyncssh.SSHClientConnection, local: Path, remote_dir: str
) -> float:
    """Copy the local wheels to the machine over SFTP; COMPLETE is written last. Returns seconds."""
    wheels = sorted(
        p
        for p in await asyncio.to_thread(lambda: list(Path(local).iterdir()))
        if p.suffix in (".whl", ".gz", ".zip")
    )
    if not wheels:
        raise BootstrapFailed(f"The wheelhouse {local} holds no wheels.")
    started = time.monotonic()
    async with connection.start_sftp_client() as sftp:
        await sftp.makedirs(remote_dir, exist_ok=True)
        await sftp.put([str(p) for p in wheels], remote_dir)
        async with sftp.open(f"{remote_dir}/COMPLETE", "w") as done:
            await done.write(f"{len(wheels)} files\n")
    return time.monotonic() - started


SERVER_LOG = ".cloudlab/gateway.log"


async def fetch_server_log(connection: asyncssh.SSHClientConnection, lines: int = 200) -> str:
    """The last lines of the machine server's log on the machine (setsid and systemd write it
    there), at most ``MAX_LOG_BYTES`` of them (a kernel's output may make one line huge)."""
    command = (
        f"test -r {SERVER_LOG} || {{ echo 'no {SERVER_LOG} on the machine' >&2; exit 1; }}; "
        f"tail -n {int(lines)} {SERVER_LOG} | tail -c {MAX_LOG_BYTES}"
    )
    result = await _run_bounded(
        connection, command, "Reading the machine server log", 30, max_stdout=MAX_LOG_BYTES
    )
    if result.exit_status != 0:
        raise BootstrapFailed(f"Reading the machine server log failed: {result.stderr_tail}")
    return result.stdout
