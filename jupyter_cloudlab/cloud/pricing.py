"""What an hour costs: on-demand from the AWS Pricing API (or the dated snapshot shipped with us
when the API is denied or offline, for the regions it lists), spot from the region's spot price
history, EBS per GB-month and the public IPv4 address from the snapshot.

A price is always the machine's own region's: a region the snapshot lacks has no price (a
sentence says so), never us-east-1's figure."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from .aws_client import AwsClient
from .errors import CloudError

API_SOURCE = "api"
_SNAPSHOT = json.loads(resources.files(__package__).joinpath("prices.json").read_text())
SNAPSHOT_DATE: str = _SNAPSHOT["snapshot"]
SNAPSHOT_REGION = "us-east-1"
PUBLIC_IPV4_USD_PER_HOUR: float = _SNAPSHOT["public_ipv4_usd_per_hour"]
# AWS prorates GB-month prices over a 730-hour month.
HOURS_PER_MONTH = 730
SPOT_PRODUCT = "Linux/UNIX"


def snapshot_source(region: str) -> str:
    """'snapshot us-east-1 (2026-11)', or the sentence that the snapshot has no such region."""
    if region not in _SNAPSHOT["regions"]:
        return f"no price for {region} in the snapshot ({SNAPSHOT_DATE})"
    return f"snapshot {region} ({SNAPSHOT_DATE})"


SNAPSHOT_SOURCE = snapshot_source(SNAPSHOT_REGION)


@dataclass(frozen=True)
class OnDemandPrices:
    prices: dict[str, float]
    source: str
    """API_SOURCE, or snapshot_source(region) when the prices are the shipped snapshot's."""


@dataclass(frozen=True)
class Price:
    """One figure and where it comes from; `usd` None when no source knows it."""

    usd: float | None
    source: str


def _snapshot_region(region: str) -> dict[str, Any]:
    found: dict[str, Any] = _SNAPSHOT["regions"].get(region, {})
    return found


def snapshot_prices(region: str = SNAPSHOT_REGION) -> dict[str, float]:
    """The snapshot's on-demand prices of `region` (empty when it has none for it)."""
    on_demand = _snapshot_region(region).get("on_demand", {})
    return {name: float(price) for name, price in on_demand.items()}


def _filters(region: str, instance_type: str) -> list[dict[str, str]]:
    wanted = {
        "instanceType": instance_type,
        "regionCode": region,
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "licenseModel": "No License required",
    }
    return [{"Type": "TERM_MATCH", "Field": key, "Value": value} for key, value in wanted.items()]


def _usd_per_hour(price_list: list[str]) -> float | None:
    """The on-demand hourly USD price in a GetProducts PriceList (JSON strings)."""
    for item in price_list:
        product = json.loads(item) if isinstance(item, str) else item
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = dimension.get("pricePerUnit", {}).get("USD")
                if usd is not None and float(usd) > 0:
                    return float(usd)
    return None


async def _api_price(pricing: AwsClient, region: str, instance_type: str) -> float | None:
    reply = await pricing.call(
        "get_products",
        ServiceCode="AmazonEC2",
        Filters=_filters(region, instance_type),
        FormatVersion="aws_v1",
        MaxResults=10,
    )
    return _usd_per_hour(reply.get("PriceList", []))


async def on_demand_prices(
    pricing: AwsClient | None, region: str, instance_types: list[str]
) -> OnDemandPrices:
    """Prices from the Pricing API; the region's snapshot if the API fails for any of them."""
    if pricing is not None and instance_types:
        try:
            found = await asyncio.gather(
                *(_api_price(pricing, region, name) for name in instance_types)
            )
        except CloudError:
            pass  # denied (no pricing:GetProducts), offline, or an endpoint without it
        else:
            prices = {
                name: p for name, p in zip(instance_types, found, strict=True) if p is not None
            }
            if prices:
                return OnDemandPrices(prices, API_SOURCE)
    return OnDemandPrices(snapshot_prices(region), snapshot_source(region))


async def on_demand_price(pricing: AwsClient | None, region: str, instance_type: str) -> Price:
    """One type's on-demand $/h in `region`, and its source."""
    found = await on_demand_prices(pricing, region, [instance_type])
    return Price(found.prices.get(instance_type), found.source)


async def spot_prices(ec2: AwsClient, instance_types: list[str]) -> dict[str, float]:
    """The lowest current Linux spot price of each type across the region's zones."""
    if not instance_types:
        return {}
    try:
        history = await ec2.call(
            "describe_spot_price_history",
            InstanceTypes=instance_types,
            ProductDescriptions=["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
            StartTime=datetime.now(timezone.utc),
        )
    except CloudError:
        return {}  # spot prices are a hint, never a reason to hide the catalog
    lowest: dict[str, float] = {}
    for entry in history.get("SpotPriceHistory", []):
        name, price = entry["InstanceType"], float(entry["SpotPrice"])
        if price > 0:  # a zero is no offer (moto's history has them), not a free machine
            lowest[name] = min(price, lowest.get(name, price))
    return lowest


SpotHistory = list[tuple[datetime, float]]
"""(since, USD per hour), oldest first."""


async def spot_price_history(
    ec2: AwsClient, instance_type: str, zone: str, start: datetime, end: datetime
) -> SpotHistory:
    """The spot prices of a type in one zone from `start` to `end`: EC2 includes the price in
    effect at `start`. Empty when EC2 does not say."""
    try:
        entries = await ec2.paginate(
            "describe_spot_price_history",
            "SpotPriceHistory",
            InstanceTypes=[instance_type],
            ProductDescriptions=[SPOT_PRODUCT, f"{SPOT_PRODUCT} (Amazon VPC)"],
            Filters=[{"Name": "availability-zone", "Values": [zone]}],
            StartTime=start,
            EndTime=end,
        )
    except CloudError:
        return []
    history = [
        (as_utc(e["Timestamp"]), float(e["SpotPrice"]))
        for e in entries
        if float(e["SpotPrice"]) > 0
    ]
    return sorted(history)


def spot_price_at(history: SpotHistory, when: datetime) -> float | None:
    """The price in effect at `when`: the last change at or before it (else the first known)."""
    before = [price for since, price in history if since <= when]
    if before:
        return before[-1]
    return history[0][1] if history else None


def spot_cost(history: SpotHistory, start: datetime, end: datetime) -> float | None:
    """USD for running from `start` to `end`, each stretch at the spot price in effect then."""
    first = spot_price_at(history, start)
    if first is None or end <= start:
        return None if first is None else 0.0
    changes = [(since, price) for since, price in history if start < since < end]
    total, since, price = 0.0, start, first
    for change_at, change_price in changes:
        total += price * (change_at - since).total_seconds() / 3600
        since, price = change_at, change_price
    return total + price * (end - since).total_seconds() / 3600


@dataclass(frozen=True)
class Volume:
    """An EBS volume as EC2 describes it."""

    volume_type: str
    size_gib: int
    iops: int | None = None
    throughput_mibps: int | None = None


def ebs_usd_per_month(region: str, volume: Volume) -> Price:
    """A volume's monthly price in `region`: size × the type's GB-month price, plus the IOPS
    and throughput provisioned beyond what the type includes (gp3) or at all (io1/io2)."""
    prices = _snapshot_region(region)
    per_gb = prices.get("ebs_usd_per_gb_month", {}).get(volume.volume_type)
    source = snapshot_source(region)
    if per_gb is None:
        return Price(None, source)
    usd = per_gb * volume.size_gib
    per_iops = prices.get("ebs_usd_per_iops_month", {}).get(volume.volume_type)
    included = _SNAPSHOT["gp3_included"] if volume.volume_type == "gp3" else {}
    if per_iops is not None and volume.iops:
        usd += per_iops * max(0, volume.iops - included.get("iops", 0))
    if volume.volume_type == "gp3" and volume.throughput_mibps:
        extra = max(0, volume.throughput_mibps - included["mibps"])
        usd += prices.get("gp3_usd_per_mibps_month", 0.0) * extra
    return Price(usd, source)


def as_utc(value: Any) -> datetime:
    """An aware UTC datetime from what boto3 or a JSON reply gives."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
