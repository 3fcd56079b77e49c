"""`jupyter cloudlab resize | image | images`: what the seeds did by hand, from a terminal.

Like the rest of the CLI it talks to EC2 directly (the cloud is the truth), with the same checks
as the panel: a machine must be stopped, a new type must run its image's architecture.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from .cloud import catalog, images, instances
from .cloud.aws_client import AwsClient
from .cloud.tags import Computer, owner_for
from .errors import CloudLabError, ErrorKind

COMMANDS = ("resize", "image", "images")
Finder = Callable[[AwsClient, Computer, str], Awaitable[instances.InstanceInfo]]


def add_commands(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    machine_help = "machine id (m-...), instance id (i-...) or name"
    resize = commands.add_parser(
        "resize", help="change a stopped machine's instance type", parents=[common]
    )
    resize.add_argument("machine", help=machine_help)
    resize.add_argument("instance_type", help="e.g. g5.2xlarge (same architecture)")
    image = commands.add_parser(
        "image", help="save a stopped machine's disk as an image of yours", parents=[common]
    )
    image.add_argument("machine", help=machine_help)
    image.add_argument("--name", required=True, help="the image's name (unique in the region)")
    image.add_argument("--description", default="", help="what it holds, in your words")
    commands.add_parser(
        "images", help="list your saved images and what keeping them costs", parents=[common]
    )


async def run(args: argparse.Namespace, ec2: AwsClient, computer: Computer, find: Finder) -> int:
    if args.command == "images":
        return _print_images(args, await images.find_ours(ec2, computer))
    info = await find(ec2, computer, args.machine)
    if info.state != "stopped":
        raise CloudLabError(
            f"{info.name} is {info.state}: stop it first (jupyter cloudlab stop {info.machine_id}).",
            ErrorKind.conflict,
        )
    if args.command == "resize":
        new = await catalog.resize_target(
            ec2, info.image_id, info.instance_type, args.instance_type
        )
        await instances.change_type(ec2, info.instance_id, new.name)
        old = (await catalog.describe_instance_types(ec2, [info.instance_type]))[0]
        print(f"{info.machine_id}  {old.name} -> {new.name}  {_price(old)} -> {_price(new)}")
        return 0
    owner = await owner_for(ec2, computer)
    text = images.description(info.image_id, info.instance_type, args.description)
    saved = await images.create(ec2, owner, info.instance_id, args.name, text, info.ssh_user)
    print(f"{saved.id}  {saved.state}  {saved.name}  (offered in the image picker once available)")
    return 0


def _price(instance_type: catalog.InstanceType) -> str:
    price = instance_type.price_per_hour
    return f"${price:.4f}/h" if price is not None else "price unknown"


def _print_images(args: argparse.Namespace, saved: list[images.SavedImage]) -> int:
    if args.json:
        print(json.dumps([asdict(i) for i in saved], indent=1))
        return 0
    if not saved:
        print("No saved images.")
        return 0
    for image in saved:
        cost = f"${image.storage_usd_per_month:.2f}/month"
        print(
            f"{image.id}  {image.state:<10} {image.snapshot_gib:>5} GiB  {cost:>13}  {image.name}"
        )
    total = sum(i.storage_usd_per_month for i in saved)
    print(f"Keeping them: about ${total:.2f}/month ({images.SNAPSHOT_PRICE_NOTE}).")
    return 0
