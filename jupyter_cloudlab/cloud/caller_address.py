"""This computer's public address, for the security group's single SSH rule."""

from __future__ import annotations

import asyncio
import ipaddress
import urllib.request

from ..errors import ErrorKind
from .errors import CloudError

CHECKIP_URL = "https://checkip.amazonaws.com"


def _fetch() -> str:
    with urllib.request.urlopen(CHECKIP_URL, timeout=10) as reply:
        return reply.read().decode().strip()


async def public_cidr() -> str:
    """`<public ip>/32`, or a CloudError saying how to set it by hand."""
    try:
        address = ipaddress.ip_address(await asyncio.to_thread(_fetch))
    except (OSError, ValueError) as error:
        raise CloudError(
            "This computer's public address could not be detected: set c.CloudLab.ssh_from_cidr "
            "(for example 203.0.113.7/32).",
            ErrorKind.unavailable,
        ) from error
    return f"{address}/{address.max_prefixlen}"
