"""`jupyter cloudlab`: list, stop, start, reboot and terminate machines from a terminal, no JupyterLab.

It talks to EC2 directly (the cloud is the truth), so a machine can always be stopped, even when
the JupyterLab that launched it is gone. With no AWS credentials it uses a running sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir

from .backend import aws_credentials_found
from .cloud import instances, sweep
from .cloud.aws_client import AwsClient, AwsTarget
from .cloud.errors import CloudError
from .sandbox.sandbox import read_endpoint_file
from .ssh.host_keys import HostKeyStore


def _parser() -> argparse.ArgumentParser:
    # The common options are accepted before or after the command.
    # (SUPPRESS: a subcommand's defaults must not overwrite what was given before it.)
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--region", help="AWS region (default: the profile's)")
    common.add_argument("--profile", help="AWS profile (default: the credential chain's)")
    common.add_argument("--endpoint-url", help="EC2 endpoint (default: AWS, or a running sandbox)")
    common.add_argument("--data-dir", help="CloudLab's data folder (default: Jupyter's)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    parser = argparse.ArgumentParser(prog="jupyter cloudlab", description=__doc__, parents=[common])

    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list our machines", parents=[common])
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
    sweep = commands.add_parser(
        "sweep",
        help="list every resource carrying our tags in every region; remove them on confirmation",
        parents=[common],
    )
    sweep.add_argument(
        "--regions",
        help="comma-separated regions (default: --region if given, else every enabled region)",
    )
    sweep.add_argument("--yes", action="store_true", help="remove without asking")
    logs = commands.add_parser(
        "logs", help="print the log of a machine's jupyter server (over SSH)", parents=[common]
    )
    logs.add_argument("machine", help="machine id (m-...), instance id (i-...) or name")
    logs.add_argument("--lines", type=int, default=200, help="how many of the last lines")
    forget = commands.add_parser(
        "forget-host-key", help="drop a pinned SSH host key", parents=[common]
    )
    forget.add_argument("instance_id")
    return parser


def _target(args: argparse.Namespace) -> AwsTarget:
    if args.endpoint_url:
        return AwsTarget(
            region=args.region or "us-east-1", profile=args.profile, endpoint_url=args.endpoint_url
        )
    if not aws_credentials_found(args.profile):
        sandbox = read_endpoint_file(Path(args.data_dir))
        if sandbox is not None:
            return sandbox
        raise CloudError("No AWS credentials were found and no sandbox is running.", 401)
    import boto3

    region = args.region or boto3.session.Session(profile_name=args.profile).region_name
    return AwsTarget(region=region or "us-east-1", profile=args.profile)


async def _find(ec2: AwsClient, key: str) -> instances.InstanceInfo:
    matches = [
        i for i in await instances.find_ours(ec2) if key in (i.machine_id, i.instance_id, i.name)
    ]
    if not matches:
        raise CloudError(f"No machine of ours is called '{key}': see `jupyter cloudlab list`.", 404)
    if len(matches) > 1:
        raise CloudError(f"Several machines are called '{key}': use the machine id.", 409)
    return matches[0]


async def _run(args: argparse.Namespace) -> int:
    if args.command == "forget-host-key":
        store = HostKeyStore(Path(args.data_dir) / "host_keys.json")
        forgotten = store.forget(args.instance_id)
        print("Forgotten." if forgotten else "No key was pinned for that instance.")
        return 0
    ec2 = AwsClient(_target(args))
    if args.command == "sweep":
        return await _sweep(args, ec2)
    if args.command == "logs":
        return await _logs(args, ec2)
    if args.command == "list":
        found = await instances.find_ours(ec2)
        if args.json:
            print(json.dumps([asdict(i) for i in found], indent=1))
        elif not found:
            print("No machines.")
        for info in [] if args.json else found:
            print(
                f"{info.machine_id}  {info.instance_id}  {info.state:<10} {info.instance_type:<12} {info.name}"
            )
        return 0
    info = await _find(ec2, args.machine)
    if args.command == "terminate" and not args.yes:
        if not sys.stdin.isatty():
            raise CloudError("Refusing to terminate without --yes when not run interactively.", 400)
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

    found, removed = await sweep.sweep_regions(ec2.target, regions, confirm)
    if not found:
        print(f"Nothing of ours in {', '.join(regions)}.")
        return 0
    if removed:
        print(f"Removed {len(removed)} resources.")
        return 0
    return 1


async def _logs(args: argparse.Namespace, ec2: AwsClient) -> int:
    from .cloud.network import Ec2Network, MachineNetwork
    from .machines.link import StoredAddressNetwork, read_gateway_log
    from .ssh.client_key import load_or_create_client_key

    info = await _find(ec2, args.machine)
    data_dir = Path(args.data_dir)
    network: MachineNetwork = Ec2Network(ec2)
    host_keys = HostKeyStore(data_dir / "host_keys.json")
    if ec2.target == read_endpoint_file(data_dir):  # the sandbox's machines
        network = StoredAddressNetwork(data_dir / "sandbox" / "machines.json")
        host_keys = HostKeyStore(data_dir / "sandbox" / "host_keys.json")
    client_key = load_or_create_client_key(data_dir / "id_ed25519")
    try:
        text = await read_gateway_log(
            ec2, network, client_key, host_keys, info.instance_id, args.lines
        )
    except Exception as error:  # SSH refused/unreachable, machine stopped: say it plainly
        raise CloudError(str(error), 502) from error
    print(text, end="")
    return 0


def _with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    defaults = {
        "region": None,
        "profile": None,
        "endpoint_url": None,
        "data_dir": str(Path(jupyter_data_dir()) / "cloudlab"),
        "json": False,
        "regions": None,
    }
    for name, value in defaults.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _with_defaults(_parser().parse_args(argv))
    try:
        return asyncio.run(_run(args))
    except CloudError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
