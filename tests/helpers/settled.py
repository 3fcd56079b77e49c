"""How a concurrency scenario ends: every machine settled in a state the panel can explain, and
nothing orphaned, by the sweep's own listing and by EC2's own view.

Kept free of fixtures so any test module can use them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_cloudlab.cloud import sweep
from jupyter_cloudlab.cloud.access import KEY_PAIR_PREFIX, SECURITY_GROUP_PREFIX
from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.tags import Computer
from jupyter_cloudlab.ssh.client_key import load_or_create_client_key, public_key_line
from tests.helpers.rest_api import API, api_json
from tests.helpers.sandbox_ec2 import moto_client

# States a machine rests in: the panel says what it is and offers its buttons.
SETTLED = ("ready", "stopped", "failed")
# Five sandbox machines booting and bootstrapping at once on two slow cores take a while.
SETTLE_TIMEOUT = 300
GONE_STATES = ("terminated", "shutting-down")


async def settled_machines(jp_fetch: Any, timeout: float = SETTLE_TIMEOUT) -> list[dict[str, Any]]:
    """The machine rows once none is on its way anywhere (each ready, stopped or failed; a
    terminated one is gone from the list)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows: list[dict[str, Any]] = (await api_json(jp_fetch, *API, "machines"))["machines"]
        if all(row["state"] in SETTLED for row in rows):
            return rows
        assert loop.time() < deadline, [(r["id"], r["state"]) for r in rows]
        await asyncio.sleep(0.3)


def assert_explainable(rows: list[dict[str, Any]]) -> None:
    """Each row says what it is: ready or stopped with its instance, or failed with a sentence;
    its buttons come from the server's transition table."""
    for row in rows:
        assert row["state"] in SETTLED, row
        assert isinstance(row["actions"], list), row
        if row["state"] == "failed":
            assert (row.get("message") or "").strip(), row
            assert "terminate" in row["actions"], row
        else:
            assert row["instance_id"], row


def this_computer(backend: Any) -> Computer:
    """The computer the server's SSH client key names (whose resources the sweep lists)."""
    key_file = backend.current.options.data_folder.client_key
    return Computer.of(public_key_line(load_or_create_client_key(key_file)))


async def sweep_listing(ec2: AwsClient, computer: Computer) -> dict[str, list[str]]:
    """`jupyter cloudlab sweep`'s own listing for this computer, by kind."""
    found: dict[str, list[str]] = {}
    for resource in await sweep.find_tagged(ec2, computer):
        found.setdefault(resource.kind, []).append(resource.id)
    return found


def ec2_view(client: Any) -> tuple[set[str], set[str], set[str]]:
    """What EC2 itself holds (a plain boto3 client): live instance ids, and the security groups
    and key pairs those use."""
    reservations = client.describe_instances()["Reservations"]
    live = [
        i for r in reservations for i in r["Instances"] if i["State"]["Name"] not in GONE_STATES
    ]
    return (
        {i["InstanceId"] for i in live},
        {g["GroupId"] for i in live for g in i.get("SecurityGroups", [])},
        {i["KeyName"] for i in live if i.get("KeyName")},
    )


def named_ours(client: Any) -> tuple[set[str], set[str]]:
    """Every security group and key pair in EC2 named as this extension names them, tags or
    not (EC2's own list, beside the sweep's, which goes by tags)."""
    groups = client.describe_security_groups()["SecurityGroups"]
    pairs = client.describe_key_pairs()["KeyPairs"]
    return (
        {g["GroupId"] for g in groups if g["GroupName"].startswith(SECURITY_GROUP_PREFIX)},
        {p["KeyName"] for p in pairs if p["KeyName"].startswith(KEY_PAIR_PREFIX)},
    )


def assert_rows_match(
    rows: list[dict[str, Any]], listing: dict[str, list[str]], client: Any
) -> None:
    """No instance without a row, no ready or stopped row without its instance, and (by the
    sweep's listing and by EC2's own view, through `client`) no key pair or group that no live
    instance uses."""
    live, used_groups, used_keys = ec2_view(client)
    row_instances = {row["instance_id"] for row in rows if row.get("instance_id")}
    listed = set(listing.get("instance", []))
    assert listed == live, (listed, live)
    assert live <= row_instances, f"billed without a row: {live - row_instances}"
    for row in rows:
        if row["state"] in ("ready", "stopped"):
            assert row["instance_id"] in live, f"a row without its instance: {row}"
    assert set(listing.get("security-group", [])) == used_groups, (listing, used_groups)
    assert set(listing.get("key-pair", [])) == used_keys, (listing, used_keys)
    assert named_ours(client) == (used_groups, used_keys)
    if not live:
        assert listing.get("volume", []) == [], listing


async def assert_no_orphans(backend: Any, rows: list[dict[str, Any]]) -> None:
    """The sandbox's cloud agrees with the rows the panel shows (see `assert_rows_match`)."""
    listing = await sweep_listing(backend.current.ec2, this_computer(backend))
    assert_rows_match(rows, listing, moto_client(backend))


async def gone(jp_fetch: Any, timeout: float = SETTLE_TIMEOUT) -> None:
    """Until the machine list is empty (every machine terminated)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while rows := (await api_json(jp_fetch, *API, "machines"))["machines"]:
        assert loop.time() < deadline, [(r["id"], r["state"], r.get("message")) for r in rows]
        await asyncio.sleep(0.3)
