"""Sandbox machines served by a real OpenSSH sshd each, so tests meet the server EC2 machines run.

sshd runs as root in a private mount namespace of its own (``unshare --mount``), where it gets a
tmpfs ``/run`` (its privilege-separation dir) and a copy of ``/etc/passwd`` with one more line: the
machine's user, an alias of uid 0 whose home is the machine's home. The host's real ``/etc`` and
``/run`` are never touched. Everything the machine runs lives in that namespace and carries the
machine marker, which is how power-off finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
from pathlib import Path

from .machine_disk import MachineDisk, free_loopback_port, kill_marked, machine_path
from .machine_host import MACHINE_ENV_MARKER, PoweredMachine

SSHD = "/usr/sbin/sshd"
UNSHARE = "unshare"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 3.0
PORT_ATTEMPTS = 5


class _Sshd:
    def __init__(self, proc: asyncio.subprocess.Process, mount_ns: str, powered: PoweredMachine):
        self.proc = proc
        self.mount_ns = mount_ns
        self.powered = powered


class OpenSSHMachineHost:
    """MachineHost with one OpenSSH sshd (as root, own mount namespace) per powered machine."""

    def __init__(self, root_dir: Path, python_bin_dir: str | None = None) -> None:
        self.root_dir = Path(root_dir)
        self.python_bin_dir = python_bin_dir
        self._running: dict[str, _Sshd] = {}
        self._lock = asyncio.Lock()

    @staticmethod
    def available() -> bool:
        """Whether this host can run it: sshd and unshare installed, and we are root."""
        return (
            os.access(SSHD, os.X_OK)
            and shutil.which(UNSHARE) is not None
            and hasattr(os, "geteuid")
            and os.geteuid() == 0
        )

    async def power_on(
        self, instance_id: str, ssh_user: str, authorized_key: str
    ) -> PoweredMachine:
        async with self._lock:
            running = self._running.get(instance_id)
            if running is not None and running.proc.returncode is None:
                return running.powered
            if not self.available():
                raise RuntimeError("OpenSSHMachineHost needs root, /usr/sbin/sshd and unshare")
            disk = MachineDisk(self.root_dir, instance_id)
            # A machine whose owner died uncleanly may have left its sshd and sessions running.
            await asyncio.to_thread(kill_marked, instance_id, stale_mount_ns(disk))
            home = disk.prepare(ssh_user, authorized_key)
            passwd = self._write_passwd(disk, ssh_user, home)
            self._write_user_environment(home)
            last_error = ""
            for _ in range(PORT_ATTEMPTS):
                port = free_loopback_port()
                config = self._write_config(disk, instance_id, ssh_user, home, port)
                proc = await self._spawn(disk, config, passwd)
                if await _wait_for_banner(proc, port):
                    mount_ns = os.readlink(f"/proc/{proc.pid}/ns/mnt")
                    powered = PoweredMachine(instance_id, "127.0.0.1", port, str(home))
                    self._running[instance_id] = _Sshd(proc, mount_ns, powered)
                    return powered
                await self._halt(proc)
                last_error = _tail(disk.run / "sshd.log")
            raise RuntimeError(f"sshd for {instance_id} did not start: {last_error}")

    async def power_off(self, instance_id: str) -> None:
        async with self._lock:
            running = self._running.pop(instance_id, None)
            mount_ns = None
            if running is not None:
                mount_ns = running.mount_ns
                await self._halt(running.proc)
            # sshd's per-connection children outlive the listener, and sessions are detached:
            # sweep the namespace and the marker.
            await asyncio.to_thread(kill_marked, instance_id, mount_ns)

    def destroy(self, instance_id: str) -> None:
        if instance_id in self._running:
            raise RuntimeError(f"{instance_id} is still powered on")
        MachineDisk(self.root_dir, instance_id).destroy()

    async def close(self) -> None:
        for instance_id in list(self._running):
            await self.power_off(instance_id)

    def console_output(self, instance_id: str) -> str:
        return MachineDisk(self.root_dir, instance_id).console_output()

    def _write_passwd(self, disk: MachineDisk, ssh_user: str, home: Path) -> Path:
        """The host's passwd plus the machine user as a uid-0 alias homed in the machine home.

        A same-named line is dropped, so the alias wins for ``getpwnam``; root stays first, so
        ``getpwuid(0)`` still answers root.
        """
        lines = [
            line
            for line in Path("/etc/passwd").read_text().splitlines()
            if line.split(":", 1)[0] != ssh_user
        ]
        lines.append(f"{ssh_user}:x:0:0:sandbox machine user:{home}:/bin/sh")
        path = disk.run / "passwd"
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o644)
        return path

    def _write_user_environment(self, home: Path) -> None:
        """PATH for sessions, through ~/.ssh/environment (PermitUserEnvironment PATH).

        ``SetEnv PATH=...`` does not work: sshd (checked on 9.2) sets its default PATH after the
        SetEnv values, while it reads this file after that default. The config allows only PATH
        from the file.
        """
        env_file = home / ".ssh" / "environment"
        wanted = f"PATH={machine_path(self.python_bin_dir)}"
        lines = env_file.read_text().splitlines() if env_file.exists() else []
        lines = [line for line in lines if not line.startswith("PATH=")] + [wanted]
        env_file.write_text("\n".join(lines) + "\n")
        env_file.chmod(0o600)

    def _write_config(
        self, disk: MachineDisk, instance_id: str, ssh_user: str, home: Path, port: int
    ) -> Path:
        keys_file = home / ".ssh" / "authorized_keys"
        options = [
            ("ListenAddress", "127.0.0.1"),
            ("Port", str(port)),
            ("HostKey", str(disk.host_key_path)),
            ("PidFile", str(disk.run / "sshd.pid")),
            ("AuthorizedKeysFile", str(keys_file)),
            # The keys file is one absolute path, so without this any local user (root with its
            # real home, say) could log in with the machine's key.
            ("AllowUsers", ssh_user),
            ("PubkeyAuthentication", "yes"),
            ("PasswordAuthentication", "no"),
            ("KbdInteractiveAuthentication", "no"),
            ("StrictModes", "no"),
            ("UsePAM", "no"),
            # The tunnel forwards to the machine server's Unix socket (-L path:path). sshd (9.2)
            # checks such a forward against its TCP rules too: with AllowTcpForwarding no, or any
            # PermitOpen list (which can name no path), it is refused. So, as in a stock sshd,
            # local forwards of both kinds are allowed; remote ones are not.
            ("AllowStreamLocalForwarding", "local"),
            ("AllowTcpForwarding", "local"),
            ("GatewayPorts", "no"),
            ("X11Forwarding", "no"),
            ("AllowAgentForwarding", "no"),
            ("PermitRootLogin", "prohibit-password"),
            ("PermitUserEnvironment", "PATH"),
            ("AcceptEnv", "LANG LC_*"),
            ("PrintMotd", "no"),
            ("PrintLastLog", "no"),
            ("Subsystem", "sftp internal-sftp"),
            *self._session_marker(instance_id),
            ("ClientAliveInterval", "5"),
            ("ClientAliveCountMax", "3"),
            ("LogLevel", "VERBOSE"),
        ]
        path = disk.run / "sshd_config"
        path.write_text("".join(f"{key} {value}\n" for key, value in options))
        return path

    async def _halt(self, proc: asyncio.subprocess.Process) -> None:
        """Stop the process power_on spawned (sshd; a subclass may spawn an init instead)."""
        await _stop(proc)

    def _session_marker(self, instance_id: str) -> list[tuple[str, str]]:
        """Every session carries the machine's marker: how power-off finds what it started."""
        return [("SetEnv", f"{MACHINE_ENV_MARKER}={instance_id}")]

    async def _spawn(
        self, disk: MachineDisk, config: Path, passwd: Path
    ) -> asyncio.subprocess.Process:
        script = " && ".join(
            [
                "mount -t tmpfs -o mode=755 tmpfs /run",
                "mkdir -m 755 /run/sshd",
                f"mount --bind {shlex.quote(str(passwd))} /etc/passwd",
                f"exec {SSHD} -D -e -f {shlex.quote(str(config))}",
            ]
        )
        argv = [UNSHARE, "--mount", "--propagation", "private", "sh", "-c", script]
        return await spawn_detached(argv, disk.run / "sshd.log")


async def spawn_detached(argv: list[str], log: Path) -> asyncio.subprocess.Process:
    """Start a machine's first process in a session of its own, its output appended to LOG."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            cwd="/",
            start_new_session=True,
        )
    finally:
        os.close(fd)


async def _wait_for_banner(proc: asyncio.subprocess.Process, port: int) -> bool:
    """True once our sshd answers with an SSH banner; False if it exits or never answers.

    Reading the banner, not just connecting, tells our sshd apart from whoever might have taken
    the port in the meantime.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while loop.time() < deadline and proc.returncode is None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), timeout=1
            )
        except (OSError, asyncio.TimeoutError):
            await asyncio.sleep(0.05)
            continue
        try:
            banner = await asyncio.wait_for(reader.readline(), timeout=2)
        except (OSError, asyncio.TimeoutError):
            banner = b""
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if banner.startswith(b"SSH-2.0-OpenSSH"):
            return proc.returncode is None
        await asyncio.sleep(0.05)
    return False


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def stale_mount_ns(disk: MachineDisk) -> str | None:
    """The mount namespace of an sshd left from an earlier boot of this disk, if one still runs."""
    try:
        pid = int((disk.run / "sshd.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        # sshd rewrites its title ("sshd: /usr/sbin/sshd -D -e -f CFG [listener] ..."): search.
        if str(disk.run / "sshd_config").encode() not in cmdline:
            return None
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except (OSError, ValueError):
        return None


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
