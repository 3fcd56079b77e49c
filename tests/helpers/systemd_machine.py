"""A sandbox machine that boots systemd, for the bootstrap's service path (tests only).

EC2 images run systemd, and the bootstrap installs the machine server as a unit there. This host boots a
real systemd as PID 1 of new PID, mount, cgroup, UTS and IPC namespaces (the network stays the
host's loopback, as for the other sandbox machines). Inside, systemd sees a private /run, a
minimal unit set (sshd and empty targets: none of the host's services start) and the machine
disk's own /etc/systemd/system, so enabled units persist across a power cycle as on a real disk.
Its sshd is a unit too. Sessions carry no sandbox marker (the bootstrap would then avoid systemd);
a power cut SIGKILLs the namespace's init, which takes every process of the machine with it.
systemd's own log goes nowhere (its console would be the host's); `systemctl` inside tells.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
from pathlib import Path

from jupyter_cloudlab.sandbox.machine_disk import MachineDisk
from jupyter_cloudlab.sandbox.openssh_host import SSHD, OpenSSHMachineHost, spawn_detached

SYSTEMD = "/usr/bin/systemd"
EMPTY_TARGETS = ("sysinit", "basic", "sockets", "timers", "paths", "slices", "local-fs", "network")
"""What units' default dependencies name; empty here, so nothing of the host's boot runs."""


def systemd_available() -> bool:
    return OpenSSHMachineHost.available() and os.access(SYSTEMD, os.X_OK)


def _units(config: Path, log: Path) -> dict[str, str]:
    targets = {f"{name}.target": f"[Unit]\nDescription={name}\n" for name in EMPTY_TARGETS}
    return {
        **targets,
        "shutdown.target": "[Unit]\nDescription=shutdown\nDefaultDependencies=no\n",
        "multi-user.target": "[Unit]\nDescription=machine\nWants=sshd.service\n",
        "sshd.service": "\n".join(
            [
                "[Unit]",
                "Description=OpenSSH of the sandbox machine",
                "[Service]",
                f"ExecStart={SSHD} -D -e -f {config}",
                f"StandardError=append:{log}",
                "KillMode=process",  # as Debian's ssh.service: sessions outlive an sshd restart
                "",
            ]
        ),
    }


class SystemdMachineHost(OpenSSHMachineHost):
    """OpenSSHMachineHost whose machines boot systemd, which then runs their sshd."""

    def _session_marker(self, instance_id: str) -> list[tuple[str, str]]:
        return []

    async def _spawn(
        self, disk: MachineDisk, config: Path, passwd: Path
    ) -> asyncio.subprocess.Process:
        units = disk.run / "units"  # the image's units: remade at each boot
        units.mkdir()
        for name, text in _units(config, disk.run / "sshd.log").items():
            (units / name).write_text(text)
        (units / "default.target").symlink_to("multi-user.target")
        etc_units = disk.etc / "systemd-system"  # /etc/systemd/system: on the disk, kept
        etc_units.mkdir(exist_ok=True)
        script = " && ".join(
            [
                "mount -t tmpfs -o mode=755 tmpfs /run",
                "mkdir -m 755 /run/sshd",
                f"mount --bind {shlex.quote(str(passwd))} /etc/passwd",
                f"mount --bind {shlex.quote(str(units))} /lib/systemd/system",
                f"mount --bind {shlex.quote(str(etc_units))} /etc/systemd/system",
                f"exec env container=cloudlab-sandbox {SYSTEMD} --system --log-target=null",
            ]
        )
        argv = [
            *("unshare", "--pid", "--fork", "--kill-child", "--mount-proc"),
            *("--mount", "--propagation", "private", "--cgroup", "--uts", "--ipc"),
            *("sh", "-c", script),
        ]
        return await spawn_detached(argv, disk.run / "init.log")

    async def _halt(self, proc: asyncio.subprocess.Process) -> None:
        # unshare ignores SIGTERM while it waits for its child; its death SIGKILLs the init.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()

    async def systemctl(self, instance_id: str, *args: str) -> str:
        """`systemctl ARGS` inside the machine, as its console would show it."""
        init = await asyncio.to_thread(_init_pid, self.root_dir / instance_id / "run")
        process = await asyncio.create_subprocess_exec(
            "nsenter",
            *("-t", str(init), "-m", "-p"),
            *("systemctl", "--no-pager", *args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
        return out.decode(errors="replace").strip()


def _init_pid(run: Path) -> int:
    """The host pid of the machine's systemd: PID 1 of its namespace, with the machine's units."""
    for name in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{name}/status").read_text()
            nspid = next(line for line in status.splitlines() if line.startswith("NSpid:"))
            is_init = status.startswith("Name:\tsystemd\n") and nspid.split()[-1] == "1"
            if is_init and str(run / "units") in Path(f"/proc/{name}/mountinfo").read_text():
                return int(name)
    raise RuntimeError(f"no systemd runs for the machine of {run}")
