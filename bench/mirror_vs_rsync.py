"""First mirror of a folder (1,000 small files in 20 folders + one 200 MB file) to a sandbox
machine behind real OpenSSH sshd: our Mirror (small files in tar archives, big ones over asyncssh
SFTP, as the machines layer sets it up) vs `rsync -a` over OpenSSH's ssh to
the same sshd (the anchor); goal: mirror <= 1.2x rsync. Then the cost of a no-change
`before_execute` for that folder (the check that runs before every cell), and of the stat walk
it falls back to when inotify cannot tell.

The two take turns, --runs times each, each into an empty destination; medians are printed.
rsync's time includes its ssh handshake (~0.1 s); the mirror's SFTP session is open beforehand,
as the machines layer keeps it.

Usage (root, OpenSSH and rsync installed): python bench/mirror_vs_rsync.py [--runs 3] [--big-mb 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_cloudlab.workspace.ignore import IgnoreRules
from jupyter_cloudlab.workspace.local_index import walk
from jupyter_cloudlab.workspace.mirror import Mirror, MirrorSettings
from tests.helpers.ssh_machines import Rig, rig
from tests.helpers.workspace_machine import CountingSftp, big_file, write

CHECKS = 1000


def make_folder(root: Path, big_mb: int) -> Path:
    project = root / "project"
    for n in range(1000):
        write(project / f"d{n % 20}" / f"f{n}.py", f"# file {n}\n" + "x = 1\n" * 40)
    big_file(project / "model.bin", big_mb * 1024 * 1024)
    write(project / "nb.ipynb", "{}")
    return project


def rsync_command(machine: Rig, work: Path, source: Path, dest: str) -> list[str]:
    assert machine.powered is not None
    key = work / "id_ed25519"
    if not key.exists():
        machine.client_key.write_private_key(str(key))
        key.chmod(0o600)
        host_key = asyncssh.read_private_key(str(machine.disk / "etc" / "ssh_host_ed25519_key"))
        public = host_key.export_public_key().decode().strip()
        (work / "known_hosts").write_text(
            f"[{machine.powered.host}]:{machine.powered.port} {public}\n"
        )
    ssh = (
        f"ssh -i {key} -p {machine.powered.port} -o UserKnownHostsFile={work / 'known_hosts'}"
        " -o StrictHostKeyChecking=yes -o BatchMode=yes"
    )
    target = f"{machine.user}@{machine.powered.host}:{dest}/"
    return ["rsync", "-a", "-e", ssh, f"{source}/", target]


async def time_mirror(machine: Rig, local_root: Path, sftp: CountingSftp, run: int) -> float:
    settings = MirrorSettings(machine_root=f"bench/mirror{run}")
    # As the machines layer builds it: small files go in archives over the same connection.
    mirror = Mirror(
        machine.instance_id, sftp, local_root, settings, lambda notice: None, shell=sftp.shell
    )
    started = time.perf_counter()
    await mirror.open("project/nb.ipynb")
    elapsed = time.perf_counter() - started
    await mirror.close()
    return elapsed


def time_rsync(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


async def no_change_cost(machine: Rig, local_root: Path, sftp: CountingSftp) -> tuple[float, int]:
    mirror = Mirror(
        machine.instance_id,
        sftp,
        local_root,
        MirrorSettings(machine_root="bench/nc"),
        lambda notice: None,
    )
    folder = await mirror.open("project/nb.ipynb")
    await folder.before_execute()
    asked = sftp.calls
    started = time.perf_counter()
    for _ in range(CHECKS):
        await folder.before_execute()
    per_check = (time.perf_counter() - started) / CHECKS
    await mirror.close()
    return per_check, sftp.calls - asked


def stat_walk_cost(project: Path) -> float:
    started = time.perf_counter()
    for _ in range(50):
        walk(project, IgnoreRules(project))
    return (time.perf_counter() - started) / 50


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-mb", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("rsync") is None:
        sys.exit("rsync is not installed (apt-get install rsync): no anchor to compare with")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        local_root = work / "laptop"
        project = make_folder(local_root, args.big_mb)
        async with rig(work / "machine") as machine:
            sftp = CountingSftp(machine)
            await sftp()
            home = machine.disk / "home" / machine.user
            mirror_s: list[float] = []
            rsync_s: list[float] = []
            for run in range(args.runs * 2):  # taking turns, each going first half the time
                os.sync()  # no writeback of the last run (or of making the folder) in this one
                if (run + run // 2) % 2 == 0:
                    mirror_s.append(await time_mirror(machine, local_root, sftp, run))
                else:
                    dest = f"bench/rsync{run}"
                    (home / dest).mkdir(parents=True)
                    rsync_s.append(time_rsync(rsync_command(machine, work, project, dest)))
                if run % 2:
                    shutil.rmtree(home / "bench")
            per_check, asked = await no_change_cost(machine, local_root, sftp)
            walk_s = stat_walk_cost(project)
            sftp.close()
    mirror_m, rsync_m = statistics.median(mirror_s), statistics.median(rsync_s)
    print(f"first mirror, 1,000 files + {args.big_mb} MB (median of {args.runs}):")
    print(f"  mirror {mirror_m:6.2f} s   {[round(s, 2) for s in mirror_s]}")
    print(f"  rsync  {rsync_m:6.2f} s   {[round(s, 2) for s in rsync_s]}")
    print(f"  mirror/rsync = {mirror_m / rsync_m:.2f}  (goal <= 1.20)")
    print(
        f"no-change before_execute: {per_check * 1e6:.1f} µs per cell ({CHECKS} cells, "
        f"{asked} SFTP sessions asked); the stat walk it avoids: {walk_s * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
