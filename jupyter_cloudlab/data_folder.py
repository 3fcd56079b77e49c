"""CloudLab's data folder (0700; `c.CloudLab.data_dir`): the one place its layout is spelled out.

<data_dir>/
    id_ed25519            this computer's SSH key for our machines (0600)
    remote_kernels.json   the kernel map: machine kernels a restarted server adopts again
    sessions.db           jupyter_server's sessions (notebook -> kernel), kept across restarts
    host_keys.json        pinned SSH host keys of AWS machines, by instance id
    machines.json         the machine cache of AWS machines (the cloud is the truth)
    meter.json            each machine's running periods and prices (the meter's memory)
    launch_idle_limits.json  launches' idle limits not yet sent to their machines (first ready)
    forward_known_hosts   what OpenSSH's forward trusts (written from the pinned keys)
    sandbox/              the same files for the sandbox's machines, which must never mix
                          with real ones, plus its endpoint file and its machines' disks
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AccountFiles:
    """The files of one kind of account: AWS (the data folder) or the sandbox (its sub-folder)."""

    folder: Path

    @property
    def host_keys(self) -> Path:
        return self.folder / "host_keys.json"

    @property
    def machines(self) -> Path:
        return self.folder / "machines.json"

    @property
    def meter(self) -> Path:
        return self.folder / "meter.json"

    @property
    def launch_idle_limits(self) -> Path:
        return self.folder / "launch_idle_limits.json"

    @property
    def forward_known_hosts(self) -> Path:
        return self.folder / "forward_known_hosts"


@dataclass(frozen=True)
class DataFolder:
    root: Path

    def ensure(self) -> DataFolder:
        """Create the folder, readable by its owner only."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    @property
    def client_key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def kernel_map(self) -> Path:
        return self.root / "remote_kernels.json"

    @property
    def sessions_db(self) -> Path:
        return self.root / "sessions.db"

    @property
    def aws(self) -> AccountFiles:
        return AccountFiles(self.root)

    @property
    def sandbox(self) -> AccountFiles:
        return AccountFiles(self.root / "sandbox")

    @property
    def sandbox_endpoint(self) -> Path:
        """Where a running sandbox says where its EC2 endpoint is (for `jupyter cloudlab`)."""
        return self.sandbox.folder / "endpoint.json"

    @property
    def sandbox_machines(self) -> Path:
        """The sandbox machines' disks, one folder per instance."""
        return self.sandbox.folder / "machines"

    def account(self, sandbox: bool) -> AccountFiles:
        return self.sandbox if sandbox else self.aws
