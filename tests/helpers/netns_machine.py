"""The machine of the link-cut tests: OpenSSH's sshd in namespace A of a veth pair, with the disk
layout, passwd alias, PATH file and sshd options of the sandbox's OpenSSH host; only the listen
address differs: the machine's side of the veth link."""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import signal
import subprocess
import time
from pathlib import Path

from jupyter_cloudlab.sandbox.machine_disk import MachineDisk
from jupyter_cloudlab.sandbox.openssh_host import SSHD, UNSHARE, OpenSSHMachineHost
from tests.helpers.linked_namespaces import LinkedNamespaces
from tests.helpers.ssh_machines import VENV_BIN

USER = "ubuntu"
SSH_PORT = 22  # the namespace is ours: the usual port is free there
SSHD_IN_PRIVATE_MOUNTS = [UNSHARE, "--mount", "--propagation", "private", "sh", "-c"]


def start_sshd(
    links: LinkedNamespaces, root: Path, public_key: str
) -> tuple[subprocess.Popen[bytes], str]:
    instance_id = f"i-0{secrets.token_hex(8)}"
    # The same disk layout, passwd alias, PATH file and sshd options as the sandbox's OpenSSH host;
    # only the listen address differs: the machine's side of the veth link.
    host = OpenSSHMachineHost(root, python_bin_dir=VENV_BIN)
    disk = MachineDisk(root, instance_id)
    home = disk.prepare(USER, public_key)
    passwd = host._write_passwd(disk, USER, home)
    host._write_user_environment(home)
    config = host._write_config(disk, instance_id, USER, home, SSH_PORT)
    text = config.read_text().replace("ListenAddress 127.0.0.1", f"ListenAddress {links.addr_a}")
    config.write_text(text)
    script = " && ".join(
        [
            "mount -t tmpfs -o mode=755 tmpfs /run",
            "mkdir -m 755 /run/sshd",
            f"mount --bind {shlex.quote(str(passwd))} /etc/passwd",
            f"exec {SSHD} -D -e -f {shlex.quote(str(config))}",
        ]
    )
    log_path = disk.run / "sshd.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*links.exec_prefix(links.a), *SSHD_IN_PRIVATE_MOUNTS, script],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd="/",
            start_new_session=True,
        )
    deadline = time.monotonic() + 15
    while b"Server listening on" not in log_path.read_bytes():
        assert proc.poll() is None, f"sshd exited: {log_path.read_text()}"
        assert time.monotonic() < deadline, f"sshd did not start: {log_path.read_text()}"
        time.sleep(0.05)
    return proc, instance_id


def kill_group(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
