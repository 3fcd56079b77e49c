"""The catalog as a region shows it: instance types with GPUs and prices (Pricing API, else the
dated snapshot, said so), spot prices, and images from public SSM parameters, our own, or an id."""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY, Stubber

from jupyter_cloudlab.cloud import catalog, pricing
from jupyter_cloudlab.cloud.aws_client import PRICING_REGION, AwsClient
from jupyter_cloudlab.cloud.errors import CloudError
from tests.helpers.moto_cloud import boto, register_image, target

AL2023_X86 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def _product(usd: str) -> str:
    return json.dumps(
        {
            "product": {"attributes": {"instanceType": "g5.xlarge"}},
            "terms": {
                "OnDemand": {
                    "X.JRTCKXETXF": {
                        "priceDimensions": {
                            "X.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "pricePerUnit": {"USD": usd},
                            }
                        }
                    }
                }
            },
        }
    )


async def test_instance_types_with_gpus_and_snapshot_prices(url: str, ec2: AwsClient) -> None:
    # Given a pricing endpoint that cannot answer (moto has no Pricing API)
    unavailable = AwsClient(target(url), "pricing", PRICING_REGION)
    # When the picker's list is asked for
    types = {t.name: t for t in await catalog.offered_instance_types(ec2, unavailable)}
    # Then the curated types this region knows are there (moto lacks p3), with their details
    assert set(types) <= set(catalog.CURATED_INSTANCE_TYPES) and len(types) >= 10
    g5 = types["g5.xlarge"]
    assert (g5.vcpus, g5.memory_gib, g5.architecture) == (4, 16.0, "x86_64")
    assert g5.gpu is not None and (g5.gpu.model, g5.gpu.manufacturer, g5.gpu.count) == (
        "A10G",
        "NVIDIA",
        1,
    )
    assert g5.gpu.memory_gib > 20 and g5.gpu_label == "A10G 22 GB"
    assert types["g5.12xlarge"].gpu.count == 4  # type: ignore[union-attr]
    assert types["t3.medium"].gpu is None
    # And on-demand prices come from the shipped snapshot, said so with its date
    assert g5.price_per_hour == pricing.snapshot_prices()["g5.xlarge"]
    assert g5.price_source == pricing.SNAPSHOT_SOURCE == "snapshot us-east-1 (2026-11)"
    # And spot prices come from the region's spot price history
    assert g5.spot_price_per_hour is not None and g5.spot_price_per_hour > 0


async def test_on_demand_prices_from_the_pricing_api(url: str) -> None:
    # Given a Pricing API that answers (botocore's Stubber: moto has none)
    api = AwsClient(target(url), "pricing", PRICING_REGION)
    with Stubber(api.client) as stubber:
        for usd in ("1.0060000000", "0.0416000000"):
            stubber.add_response(
                "get_products",
                {"PriceList": [_product(usd)], "FormatVersion": "aws_v1"},
                {
                    "ServiceCode": "AmazonEC2",
                    "Filters": ANY,
                    "FormatVersion": "aws_v1",
                    "MaxResults": 10,
                },
            )
        found = await pricing.on_demand_prices(api, "eu-west-1", ["g5.xlarge", "t3.medium"])
    # Then its prices are used, and said to be the API's
    assert found.source == "api"
    assert found.prices == {"g5.xlarge": 1.006, "t3.medium": 0.0416}


async def test_a_denied_pricing_api_falls_back_to_the_snapshot(url: str) -> None:
    api = AwsClient(target(url), "pricing", PRICING_REGION)
    with Stubber(api.client) as stubber:
        stubber.add_client_error("get_products", "AccessDeniedException", "no pricing", 400)
        found = await pricing.on_demand_prices(api, "us-east-1", ["g5.xlarge"])
    assert found.source.startswith("snapshot us-east-1 (")
    assert found.prices["g5.xlarge"] == pricing.snapshot_prices()["g5.xlarge"]
    assert (await pricing.on_demand_prices(None, "us-east-1", ["g5.xlarge"])).source == (
        pricing.SNAPSHOT_SOURCE
    )


async def test_images_from_public_ssm_parameters_and_our_own(url: str, ec2: AwsClient) -> None:
    # Given an image of our own in the account
    own = register_image(url, "my-team-image")
    ssm = AwsClient(target(url), "ssm")
    # When the images are listed
    images = await catalog.offered_images(ec2, ssm)
    by_id = {image.id: image for image in images}
    # Then Amazon Linux 2023 comes from its public SSM parameter, logging in as ec2-user
    al2023 = boto(url, "ssm").get_parameter(Name=AL2023_X86)["Parameter"]["Value"]
    assert by_id[al2023].family == "amazon-linux" and by_id[al2023].ssh_user == "ec2-user"
    assert {i.architecture for i in images if i.family == "amazon-linux"} == {"x86_64", "arm64"}
    # And our own image is offered as custom
    assert by_id[own].family == "custom"
    # And the SSM names asked for cover DLAMI, Ubuntu LTS and AL2023 on both architectures
    names = list(catalog.PUBLIC_IMAGE_PARAMETERS)
    assert any(n.startswith("/aws/service/deeplearning/ami/x86_64/") for n in names)
    assert any(n.startswith("/aws/service/deeplearning/ami/arm64/") for n in names)
    assert any("/canonical/ubuntu/server/24.04/" in n for n in names)


def test_ssh_user_follows_the_image_family() -> None:
    assert catalog.ssh_user_for("Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04)") == (
        "ubuntu"
    )
    assert catalog.ssh_user_for("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64") == "ubuntu"
    assert catalog.ssh_user_for("al2023-ami-2023.6-kernel-6.1-x86_64") == "ec2-user"
    assert catalog.ssh_user_for(
        "Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023)"
    ) == ("ec2-user")


async def test_any_ami_id_is_validated(url: str, ec2: AwsClient) -> None:
    own = register_image(url, "my-team-image")
    assert (await catalog.describe_image(ec2, own)).id == own
    with pytest.raises(CloudError, match="is not an AMI id"):
        await catalog.describe_image(ec2, "ubuntu-latest")
    with pytest.raises(CloudError, match="does not exist in us-east-1"):
        await catalog.describe_image(ec2, "ami-0123456789abcdef0")
    with pytest.raises(CloudError, match="Unknown instance type"):
        await catalog.describe_instance_types(ec2, ["zz9.huge"])
