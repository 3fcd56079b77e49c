"""What an hour costs: on-demand from the AWS Pricing API (or the dated snapshot shipped with us
when the API is denied or offline), spot from the region's spot price history."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources

from .aws_client import AwsClient
from .errors import CloudError

API_SOURCE = "api"
_SNAPSHOT = json.loads(resources.files(__package__).joinpath("prices.json").read_text())
SNAPSHOT_SOURCE = f"snapshot ({_SNAPSHOT['snapshot']})"
SNAPSHOT_REGION: str = _SNAPSHOT["region"]


@dataclass(frozen=True)
class OnDemandPrices:
    prices: dict[str, float]
    source: str
    """API_SOURCE, or SNAPSHOT_SOURCE when the prices are the shipped snapshot's."""


def snapshot_prices() -> dict[str, float]:
    return {name: float(price) for name, price in _SNAPSHOT["on_demand"].items()}


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
    """Prices from the Pricing API; the whole snapshot if the API fails for any of them."""
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
    return OnDemandPrices(snapshot_prices(), SNAPSHOT_SOURCE)


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
