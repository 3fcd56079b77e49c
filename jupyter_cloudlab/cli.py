"""`jupyter cloudlab`: list, stop, start, reboot and terminate machines from a terminal, no JupyterLab;
set a machine's idle limit, budget and keep-alive (over SSH, to the machine's own guard).

It talks to EC2 directly (the cloud is the truth), so a machine can always be stopped, even when
the JupyterLab that launched it is gone. With no AWS credentials it uses a running sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir

from . import cli_lifecycle
from .cli_config import server_settings, split_options
from .cloud import instances, sweep
from .cloud.account import credentials_found, home_region
from .cloud.aws_client import AwsClient, AwsTarget
from .cloud.tags import Computer
from .data_folder import DataFolder
from .errors import CloudLabError, ErrorKind
from .machines.meter_report import cost_report, cost_summary, meter_figures
from .sandbox.sandbox import read_endpoint_file
from .ssh.client_key import load_or_create_client_key, public_key_line
from .ssh.host_keys import HostKeyStore


def _parser() -> argparse.ArgumentParser:
    # The common options are accepted before or after the command.
    # (SUPPRESS: a subcommand's defaults must not overwrite what was given before it.)
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--region", help="AWS region (default: the profile's)")
    common.add_argument("--profile", help="AWS profile (default: the credential chain's)")
    common.add_argument("--endpoint-url", help="EC2 endpoint (default: AWS, or a running sandbox)")
    common.add_argument("--data-dir", help="CloudLab's data folder (default: Jupyter's)")
    # --CloudLab.<name>=<value> (as the server takes them) are read by cli_config.py.
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    parser = argparse.ArgumentParser(
        prog="jupyter cloudlab",
        description=__doc__,
        parents=[common],
        epilog="Region, profile, endpoint and data folder default to the server's settings: "
        "c.CloudLab.* in jupyter_server_config, or --CloudLab.region=... as the server takes them.",
    )

    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list this computer's machines", parents=[common])
    cost = commands.add_parser("cost", help="what a machine costs, line by line", parents=[common])
    cost.add_argument("machine", help="machine id (m-...), instance id (i-...) or name")
    for name, text in (
        ("stop", "stop a machine (billing for compute ends)"),
        ("start", "start a stopped machine"),
        ("reboot", "reboot a running machine (its kernels end)"),
        ("terminate", "terminate a machine (its disk is deleted)"),
    ):
        command = commands.add_parser(name, help=text, parents=[common])
        command.add_argument("machine", help="machine id (m-...), instance id (i-...) or name")
        if name == "terminate":
            command.add_argument("--yes", action="store_true", help="do not ask to confirm")
    cli_lifecycle.add_commands(commands, common)
    sweep = commands.add_parser(
        "sweep",
        help="list every resource this computer made, in every region; remove them on confirmation",
        parents=[common],
    )
    sweep.add_argument(
        "--regions",
        help="comma-separated regions (default: --region if given, else every enabled region)",
    )
    sweep.add_argument("--yes", action="store_true", help="remove without asking")
    sweep.add_argument(
        "--all-computers",
        action="store_true",
        help="every resource with our owner tag in the account, whichever computer (or person) "
        "made it, not only this computer's",
    )
    logs = commands.add_parser(
        "logs", help="print the log of a machine's jupyter server (over SSH)", parents=[common]
    )
    logs.add_argument("machine", help="machine id (m-...), instance id (i-...) or name")
    logs.add_argument("--lines", type=int, default=200, help="how many of the last lines")
    # The machine's guard (idle stop, budget), over SSH: the machine enforces them itself.
    keep = commands.add_parser(
        "keep-alive", help="no idle stop before a time (the budget still applies)", parents=[common]
    )
    keep.add_argument("machine", help="machine id (m-...), instance id (i-...) or name")
    keep.add_argument("--until", required=True, help="HH:MM on this computer's clock")
    budget = commands.add_parser(
        "budget", help="stop the machine once it has spent USD since launch", parents=[common]
    )
    budget.add_argument("machine", help="machine id (m-...), instance id (i-...) or name")
    budget.add_argument("usd", type=float, help="USD since launch; 0: no budget")
    idle = commands.add_parser(
        "idle", help="power the machine off after MINUTES idle", parents=[common]
    )
    idle.add_argument("machine", help="machine id (m-...), instance id (i-...) or name")
    idle.add_argument("minutes", type=int, help="minutes; 0: never")
    forget = commands.add_parser(
        "forget-host-key", help="drop a pinned SSH host key", parents=[common]
    )
    forget.add_argument("instance_id")
    trust = commands.add_parser(
        "trust-host-key",
        help="pin host key fingerprints you read on the machine yourself (when its console "
        "never showed them)",
        parents=[common],
    )
    trust.add_argument("instance_id")
    trust.add_argument(
        "fingerprints",
        nargs="+",
        help="SHA256:... as `ssh-keygen -lf` prints them for /etc/ssh/ssh_host_*_key.pub there",
    )
    return parser


# What a script can tell from the exit status: 1 a bug, 2 something to fix (input, credentials,
# permissions, a machine that does not exist or is in the wrong state), 3 try again later.
EXIT_CODE: dict[ErrorKind, int] = {
    **dict.fromkeys(ErrorKind, 2),
    ErrorKind.unavailable: 3,
    ErrorKind.failed: 3,
    ErrorKind.unexpected: 1,
}


def _target(args: argparse.Namespace) -> AwsTarget:
    if args.endpoint_url:
        return AwsTarget(
            region=args.region or "us-east-1", profile=args.profile, endpoint_url=args.endpoint_url
        )
    if not credentials_found(args.profile):
        sandbox = read_endpoint_file(DataFolder(Path(args.data_dir)))
        if sandbox is not None:
            return sandbox
        raise CloudLabError(
            "No AWS credentials were found and no sandbox is running.", ErrorKind.credentials
        )
    return AwsTarget(region=home_region(args.profile, args.region or ""), profile=args.profile)


def _computer(args: argparse.Namespace) -> Computer:
    """This computer, named by the data folder's SSH key (as the server names it)."""
    key = load_or_create_client_key(DataFolder(Path(args.data_dir)).client_key)
    return Computer.of(public_key_line(key))


async def _find(ec2: AwsClient, computer: Computer, key: str) -> instances.InstanceInfo:
    ours = await instances.find_ours(ec2, computer)
    matches = [i for i in ours if key in (i.machine_id, i.instance_id, i.name)]
    if not matches:
        raise CloudLabError(
            f"No machine of ours is called '{key}': see `jupyter cloudlab list`.",
            ErrorKind.not_found,
        )
    if len(matches) > 1:
        raise CloudLabError(
            f"Several machines are called '{key}': use the machine id.", ErrorKind.conflict
        )
    return matches[0]


async def _run(args: argparse.Namespace) -> int:
    if args.command == "forget-host-key":
        store = HostKeyStore(DataFolder(Path(args.data_dir)).aws.host_keys)
        forgotten = store.forget(args.instance_id)
        print("Forgotten." if forgotten else "No key was pinned for that instance.")
        return 0
    if args.command == "trust-host-key":
        store = HostKeyStore(DataFolder(Path(args.data_dir)).aws.host_keys)
        try:
            store.trust(args.instance_id, args.fingerprints)
        except ValueError as error:
            raise CloudLabError(str(error), ErrorKind.invalid) from error
        print("Trusted: the next connection pins the key that matches.")
        return 0
    ec2 = AwsClient(_target(args))
    if args.command == "sweep":
        return await _sweep(args, ec2)
    if args.command == "logs":
        return await _logs(args, ec2)
    if args.command in ("keep-alive", "budget", "idle"):
        return await _guard(args, ec2)
    computer = _computer(args)
    if args.command in cli_lifecycle.COMMANDS:
        return await cli_lifecycle.run(args, ec2, computer, _find)
    if args.command == "list":
        found = await instances.find_ours(ec2, computer)
        if args.json:
            print(json.dumps([asdict(i) for i in found], indent=1))
        elif not found:
            print("No machines.")
        costs = _meter_figures(args, ec2)
        for info in [] if args.json else found:
            print(
                f"{info.machine_id}  {info.instance_id}  {info.state:<10} {info.instance_type:<12} "
                f"{cost_summary(costs.get(info.machine_id))}  {info.name}"
            )
        return 0
    info = await _find(ec2, computer, args.machine)
    if args.command == "cost":
        print(cost_report(_meter_figures(args, ec2).get(info.machine_id), args.json))
        return 0
    if args.command == "terminate" and not args.yes:
        if not sys.stdin.isatty():
            raise CloudLabError(
                "Refusing to terminate without --yes when not run interactively.", ErrorKind.invalid
            )
        question = f"Terminate {info.name} ({info.instance_id}) and delete its disk? [y/N] "
        answer = await asyncio.to_thread(input, question)
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing done.")
            return 1
    action = {
        "stop": instances.stop,
        "start": instances.start,
        "reboot": instances.reboot,
        "terminate": instances.terminate,
    }
    await action[args.command](ec2, info.instance_id)
    after = await instances.describe(ec2, info.instance_id)
    if args.json:
        print(json.dumps(asdict(after)))
    else:
        print(f"{after.machine_id}  {after.instance_id}  {after.state}")
    return 0


def _meter_figures(args: argparse.Namespace, ec2: AwsClient) -> dict[str, dict[str, Any]]:
    """The meter's figures the server recorded, for this account (AWS or the sandbox)."""
    folder = DataFolder(Path(args.data_dir))
    sandbox = read_endpoint_file(folder) if ec2.target.endpoint_url else None
    in_sandbox = sandbox is not None and sandbox.endpoint_url == ec2.target.endpoint_url
    return meter_figures(folder.account(in_sandbox).meter)


async def _sweep(args: argparse.Namespace, ec2: AwsClient) -> int:
    if args.regions:
        regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    elif args.region or ec2.target.endpoint_url:
        regions = [ec2.region]
    else:
        regions = await sweep.enabled_regions(ec2)

    def confirm(found: list[sweep.Resource]) -> bool:
        for r in found:
            print(f"{r.region:<15} {r.kind:<15} {r.id:<22} {r.state:<10} {r.name}")
        if args.yes:
            return True
        if not sys.stdin.isatty():
            print("Nothing removed: pass --yes to remove these when not run interactively.")
            return False
        answer = input(f"Remove these {len(found)} resources? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    # This computer's resources only, unless every computer's is asked for in so many words.
    computer = None if args.all_computers else _computer(args)
    found, removed = await sweep.sweep_regions(ec2.target, regions, confirm, computer)
    if not found:
        whose = "any computer's" if computer is None else "this computer's"
        print(f"Nothing of ours ({whose}) in {', '.join(regions)}.")
        return 0
    if removed:
        print(f"Removed {len(removed)} resources.")
        return 0
    return 1


async def _logs(args: argparse.Namespace, ec2: AwsClient) -> int:
    from .ssh.bootstrap import fetch_server_log

    info = await _find(ec2, _computer(args), args.machine)
    connection = await _ssh(args, ec2, info.instance_id)
    try:
        text = await fetch_server_log(connection, args.lines)
    except CloudLabError:
        raise
    except Exception as error:  # the log unreadable: say it plainly
        raise CloudLabError(str(error), ErrorKind.failed) from error
    finally:
        connection.close()
    print(text, end="")
    return 0


async def _ssh(args: argparse.Namespace, ec2: AwsClient, instance_id: str) -> Any:
    """An SSH connection to the running machine, its host key pinned or shown on its console."""
    from .cloud.network import Ec2Network, MachineNetwork
    from .machines.link import StoredAddressNetwork, connect_running

    folder = DataFolder(Path(args.data_dir))
    in_sandbox = ec2.target == read_endpoint_file(folder)
    files = folder.account(sandbox=in_sandbox)
    network: MachineNetwork = (
        StoredAddressNetwork(files.machines) if in_sandbox else Ec2Network(ec2)
    )
    host_keys = HostKeyStore(files.host_keys)
    client_key = load_or_create_client_key(folder.client_key)
    try:
        return await connect_running(ec2, network, client_key, host_keys, instance_id)
    except CloudLabError:
        raise
    except Exception as error:  # SSH refused/unreachable, machine stopped: say it plainly
        raise CloudLabError(str(error), ErrorKind.failed) from error


async def _guard(args: argparse.Namespace, ec2: AwsClient) -> int:
    """Change the machine's guard over SSH (no JupyterLab needed); print what it says now."""
    from .machines.guard import deadline_after
    from .machines.remote_guard import call_guard, guard_summary, next_clock_time

    info = await _find(ec2, _computer(args), args.machine)
    now = datetime.now(timezone.utc)
    settings: dict[str, Any]
    if args.command == "idle":
        if not 0 <= args.minutes <= 10080:
            raise CloudLabError("Give the idle limit in minutes, 0 to 10080.", ErrorKind.invalid)
        settings = {"idle_minutes": args.minutes}
    elif args.command == "keep-alive":
        settings = {"keep_until": next_clock_time(args.until, now).isoformat()}
    else:
        figures = _meter_figures(args, ec2).get(info.machine_id) or {}
        hourly = figures.get("hourly_cost")
        if args.usd and not hourly:
            raise CloudLabError(
                "The meter has no price for this machine yet: open JupyterLab once.",
                ErrorKind.conflict,
            )
        deadline = deadline_after(args.usd, figures.get("spent_usd") or 0.0, hourly, now)
        settings = {"stop_at": deadline.isoformat() if args.usd and deadline else None}
    connection = await _ssh(args, ec2, info.instance_id)
    try:
        reply = await call_guard(connection, settings)
    finally:
        connection.close()
    print(json.dumps(reply) if args.json else f"{info.name}: {guard_summary(reply)}")
    return 0


def _with_defaults(args: argparse.Namespace, configured: dict[str, str]) -> argparse.Namespace:
    """Options not given: what the server's configuration says (cli_config.py), else ours."""
    defaults = {
        "region": None,
        "profile": None,
        "endpoint_url": None,
        "data_dir": str(Path(jupyter_data_dir()) / "cloudlab"),
        **configured,
        "json": False,
        "regions": None,
        "all_computers": False,
    }
    for name, value in defaults.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    options, rest = split_options(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(rest)
    try:
        args = _with_defaults(args, server_settings(options))
        return asyncio.run(_run(args))
    except CloudLabError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_CODE[error.kind]


if __name__ == "__main__":
    sys.exit(main())
