"""Runs ON the machine: ``python3 - OPTIONS_JSON`` with this file on stdin. Stdlib only (3.7+).

Ensures one headless jupyter_server (the machine server) runs with a random token kept in ~/.cloudlab
(0600), listening on a Unix socket in a folder only this user may enter (~/.cloudlab/gateway.sock,
see ``service.pick_socket``), never on a TCP port that another user of the machine could take while
it is down. Prints one line for the caller: ``CLOUDLAB-RESULT {json}``, whose ``socket`` says where
the server listens (``port`` instead for a server an earlier version started on 127.0.0.1 and kept
while kernels run on it).

Idempotent and versioned: ~/.cloudlab/state.json records what is installed (the bootstrap
version, the packages, the environment's Python, the machine environments found and the machine server's
settings). A run compares and redoes only what changed, so a prepared machine costs a few stats.

Exit codes: 3 install failed, 4 the server exited, 5 the server never answered, 6 no private
place for its socket, 10 a wheelhouse is needed (``CLOUDLAB-NEED-WHEELHOUSE <dir>``: the caller
uploads it over SFTP and runs again).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

try:  # imported as a package module (tests) or loaded beside it on the machine (see ssh/bootstrap)
    from .service import (
        STATE,
        StepFailed,
        answers,
        boot_started_server_answers,
        can_use_systemd,
        ensure_private_state,
        kernels_running,
        pick_socket,
        start_setsid,
        start_systemd,
        stop_old_server,
        tail,
        wait_ready,
    )
except ImportError:
    from cloudlab_service import (  # type: ignore[no-redef]
        STATE,
        StepFailed,
        answers,
        boot_started_server_answers,
        can_use_systemd,
        ensure_private_state,
        kernels_running,
        pick_socket,
        start_setsid,
        start_systemd,
        stop_old_server,
        tail,
        wait_ready,
    )

try:
    from .environments import find_envs, write_kernelspecs
except ImportError:
    from cloudlab_environments import find_envs, write_kernelspecs  # type: ignore[no-redef]

VERSION = 3
PACKAGES = ["jupyter_server>=2.0", "ipykernel>=6.0"]
MARKER = STATE / "state.json"
GPU_QUERY = ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
LAUNCHER = (
    # jsonschema imports rfc3987_syntax when present, which builds a parser at import: ~3 s
    # of jupyter_server's ~4.5 s start on a small machine, for a URI format we never check.
    "import sys; sys.modules['rfc3987_syntax'] = None; "
    "from jupyter_server.serverapp import main; sys.argv[0] = 'jupyter-server'; sys.exit(main())"
)
EXTENSIONS_OFF = {
    name: False
    for name in ("jupyter_cloudlab", "jupyterlab", "jupyter_lsp", "notebook", "notebook_shim")
}


def has_packages(python: str) -> bool:
    """jupyter_server 2 or later (the machine server's classes need it; older ones, as some images
    carry, get the isolated environment) and ipykernel."""
    probe = (
        "import jupyter_server, ipykernel; "
        "assert int(jupyter_server.__version__.split('.')[0]) >= 2"
    )
    return subprocess.run([python, "-c", probe], capture_output=True).returncode == 0


def run_logged(argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with open(log, "a") as out:
        out.write("$ " + " ".join(argv) + "\n")
        out.flush()
        code = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        raise StepFailed(3, f"Installing on the machine failed ({argv[0]}):\n{tail(log)}")


def install_env(options: dict, log: Path) -> str:
    """An isolated environment under ~/.cloudlab/venv with the packages: uv if present, else pip."""
    venv = STATE / "venv"
    python = str(venv / "bin" / "python")
    uv = shutil.which("uv")
    wheels = STATE / "wheelhouse"
    offline: list[str] = []
    env = dict(os.environ)
    if options.get("wheelhouse"):
        if not (wheels / "COMPLETE").exists():
            print(f"CLOUDLAB-NEED-WHEELHOUSE {wheels}", flush=True)
            raise SystemExit(10)
        offline = ["--no-index", "--find-links", str(wheels)]
        env["PIP_CONFIG_FILE"] = os.devnull  # only the wheelhouse, whatever pip.conf says
    if not os.access(python, os.X_OK):
        if uv:
            run_logged([uv, "venv", "--seed", "--python", sys.executable, str(venv)], log, env)
        else:
            run_logged([sys.executable, "-m", "venv", str(venv)], log, env)
    if uv:
        run_logged([uv, "pip", "install", "--python", python, *offline, *PACKAGES], log, env)
    else:
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run_logged([*pip, *offline, *PACKAGES], log, env)
    if not has_packages(python):
        raise StepFailed(3, f"The new environment still lacks jupyter_server:\n{tail(log)}")
    return python


def ensure_env(options: dict, marker: dict) -> tuple[str, bool]:
    """The Python that runs the machine server, and whether anything was installed now."""
    known = marker.get("python")
    if (
        marker.get("version") == VERSION
        and marker.get("packages") == PACKAGES
        and known
        and os.access(known, os.X_OK)
    ):
        return str(known), False  # prepared: nothing to check beyond a stat
    if not options.get("isolated") and has_packages(sys.executable):
        return sys.executable, False
    venv_python = STATE / "venv" / "bin" / "python"
    if os.access(venv_python, os.X_OK) and has_packages(str(venv_python)):
        return str(venv_python), False
    return install_env(options, STATE / "install.log"), True


def start_gpu_probe() -> list[subprocess.Popen[str]] | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    return [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for argv in ([smi, *GPU_QUERY], [smi])
    ]


def finish_gpu_probe(probes: list[subprocess.Popen[str]] | None) -> dict | None:
    if probes is None:
        return None
    outputs = []
    for probe in probes:
        try:
            outputs.append(probe.communicate(timeout=20)[0] if probe.wait(20) == 0 else "")
        except subprocess.TimeoutExpired:
            probe.kill()
            outputs.append("")
    return {"query": outputs[0], "header": outputs[1]}


TOKEN_FILE = STATE / "token"


def read_token() -> str:
    """The machine server's token, from ~/.cloudlab/token (0600; made on first use). The server
    reads it there too (JUPYTER_TOKEN_FILE), as it is: no whitespace around it."""
    path = TOKEN_FILE
    token = path.read_text().strip() if path.exists() else ""
    if not token or path.read_text() != token:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token or secrets.token_hex(32))
    os.chmod(path, 0o600)
    return path.read_text()


# ---- server tuning sent by the local side (remote/cloudlab_server.py) ----
SERVER_LIB = STATE / "lib"


def write_server_tuning(options: dict) -> dict:
    """Write the uploaded server modules into ~/.cloudlab/lib; return the config to merge."""
    tuning = options.get("machine_server") or {}
    modules = tuning.get("modules") or {}
    if modules:
        SERVER_LIB.mkdir(exist_ok=True)
    for name, source in modules.items():
        path = SERVER_LIB / (name + ".py")
        if not path.exists() or path.read_text() != source:
            path.write_text(source)
    return dict(tuning.get("config") or {})


def tuning_digest(options: dict) -> str:
    """Changes with the uploaded modules and the server's settings: a machine server started with others
    is replaced (or a new version or the user's new culling settings would never reach a machine
    whose machine server systemd starts at boot)."""
    tuning = json.dumps(options.get("machine_server") or {}, sort_keys=True)
    return hashlib.sha256(tuning.encode()).hexdigest()[:16]


# ---- end kernels ----


def server_argv(python: str, sock: str, tuning: dict | None = None) -> list[str]:
    config = STATE / "jupyter_server_config.json"
    tuning = tuning or {}
    server = tuning.get("ServerApp", {})
    # Others' extensions off; ours (the guard) as the tuning asks.
    extensions = {**EXTENSIONS_OFF, **server.get("jpserver_extensions", {})}
    server = {**server, "jpserver_extensions": extensions}
    config.write_text(json.dumps({**tuning, "ServerApp": server}))
    return [
        python,
        "-c",
        LAUNCHER,
        f"--config={config}",
        f"--ServerApp.sock={sock}",
        "--ServerApp.sock_mode=0600",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={Path.home()}",
        "--ServerApp.allow_root=True",
    ]


def server_env() -> dict[str, str]:
    # The token is read from its 0600 file: never in argv (visible to every user in ps), nor in
    # the environment, which every kernel and terminal of the server inherits (`!env` in a
    # notebook would save it). The server's kernel manager leaves these out of kernels' too.
    return {
        "JUPYTER_TOKEN_FILE": str(TOKEN_FILE),
        "JUPYTER_PATH": str(STATE / "jupyter"),
        "PYTHONPATH": str(SERVER_LIB),  # the uploaded server module
    }


def main(argv: list[str]) -> int:
    options = json.loads(argv[1]) if len(argv) > 1 else {}
    os.umask(0o077)
    ensure_private_state()
    phases: dict[str, float] = {}
    started = time.monotonic()
    try:
        marker = json.loads(MARKER.read_text())
    except (OSError, ValueError):
        marker = {}
    gpu_probes = start_gpu_probe()  # in parallel with the rest: nvidia-smi can take a second

    python, installed = ensure_env(options, marker)
    phases["install" if installed else "check"] = time.monotonic() - started
    mark = time.monotonic()
    roots = options.get("env_roots") or []
    envs = find_envs(roots, python, marker.get("envs", {}))
    kernelspecs = write_kernelspecs(envs)
    token = read_token()
    use_systemd = can_use_systemd(options)
    service = "systemd" if use_systemd else "setsid"
    server_key = [VERSION, python, service, tuning_digest(options)]
    phases["check"] = phases.get("check", 0.0) + time.monotonic() - mark
    mark = time.monotonic()

    # A socket path; or the port of a server an earlier version started (answers() sends the
    # token there only once /proc/net/tcp shows the listener is this user's).
    endpoint = marker.get("socket") or marker.get("port")
    unit = marker.get("unit")
    running = bool(endpoint) and (
        answers(endpoint, token)
        or bool(use_systemd and unit and boot_started_server_answers(unit, endpoint, token))
    )
    # One started with other code or settings stays while kernels run on it (they would die
    # with it); a later bootstrap that finds it without kernels replaces it.
    outdated = running and marker.get("gateway") != server_key
    reused = running and (not outdated or kernels_running(endpoint, token))
    if reused and outdated:  # the marker goes on describing the machine server that runs
        server_key, service = marker["gateway"], marker.get("service", service)
    if not reused:
        if marker.get("gateway") and marker.get("gateway") != server_key:
            stop_old_server(marker)
        endpoint = pick_socket(marker.get("socket"))
        log = STATE / "gateway.log"
        tuning = write_server_tuning(options)
        command, env = server_argv(python, endpoint, tuning), server_env()
        process = None
        if use_systemd:
            unit = start_systemd(command, env, log)
        else:
            process = start_setsid(command, env, log)
        wait_ready(endpoint, token, process, log)
    phases["start"] = time.monotonic() - mark
    where = {"socket": endpoint} if isinstance(endpoint, str) else {"port": endpoint}

    new_marker = {
        "version": VERSION,
        "packages": PACKAGES,
        "python": python,
        "envs": envs,
        "gateway": server_key,
        "service": service,
        "unit": unit if service == "systemd" else None,
        **where,
    }
    if new_marker != marker:
        MARKER.write_text(json.dumps(new_marker, indent=1, sort_keys=True))
    result = {
        **where,
        "token": token,
        "python": python,
        "service": service,
        "installed": installed,
        "reused": reused,
        "outdated": reused and outdated,
        "kernelspecs": kernelspecs,
        "gpu": finish_gpu_probe(gpu_probes),
        "phases": phases,
    }
    print("CLOUDLAB-RESULT " + json.dumps(result), flush=True)
    return 0


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except StepFailed as failure:
        print(str(failure), file=sys.stderr)
        return failure.code


if __name__ == "__main__":
    sys.exit(run(sys.argv))
