"""What the sandbox's EC2 (moto) really holds, asked over boto3 like any EC2 client, beside what
the API says.

Kept free of fixtures so any test module can use them.
"""

from __future__ import annotations

from typing import Any

import boto3

from jupyter_cloudlab.cloud.access import KEY_PAIR_PREFIX, SECURITY_GROUP_PREFIX
from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.cloud.tags import OWNER_TAG, OWNER_VALUE, tag_list

OURS = {OWNER_TAG: OWNER_VALUE}


def moto_client(backend: Any) -> Any:
    """A plain boto3 EC2 client on the sandbox's endpoint: what EC2 itself says (signed with the
    sandbox's own credentials, which its endpoint requires)."""
    target = backend.current.ec2.target
    return boto3.client(
        "ec2",
        region_name=target.region,
        endpoint_url=target.endpoint_url,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
    )


def moto_state(backend: Any, instance_id: str) -> str:
    reply = moto_client(backend).describe_instances(InstanceIds=[instance_id])
    return str(reply["Reservations"][0]["Instances"][0]["State"]["Name"])


def cloud_resources(backend: Any) -> dict[str, list[str]]:
    """Everything a launch creates in EC2: instances, our security group, our key pairs."""
    ec2 = moto_client(backend)
    reservations = ec2.describe_instances()["Reservations"]
    groups = ec2.describe_security_groups()["SecurityGroups"]
    key_pairs = ec2.describe_key_pairs()["KeyPairs"]
    return {
        "instances": [i["InstanceId"] for r in reservations for i in r["Instances"]],
        "security_groups": [
            g["GroupId"] for g in groups if g["GroupName"].startswith(SECURITY_GROUP_PREFIX)
        ],
        "key_pairs": [k["KeyName"] for k in key_pairs if k["KeyName"].startswith(KEY_PAIR_PREFIX)],
    }


async def import_key_pair(
    ec2: AwsClient, name: str, public_key: str, tags: dict[str, str] | None = None
) -> str:
    """A key pair in the sandbox's EC2; `tags` None: our owner tag (as ensure_key_pair tags)."""
    tags = OURS if tags is None else tags
    specs = [{"ResourceType": "key-pair", "Tags": tag_list(tags)}] if tags else []
    await ec2.call(
        "import_key_pair",
        KeyName=name,
        PublicKeyMaterial=public_key.encode(),
        TagSpecifications=specs,
    )
    return name


async def run_instance(ec2: AwsClient, key_name: str, tags: dict[str, str] | None = None) -> str:
    """One instance of the sandbox's first image, made as we launch (our tags), or with `tags`."""
    image = (await ec2.call("describe_images", Owners=["self"]))["Images"][0]
    tags = OURS if tags is None else tags
    specs = [{"ResourceType": "instance", "Tags": tag_list(tags)}] if tags else []
    reply = await ec2.call(
        "run_instances",
        KeyName=key_name,
        ImageId=image["ImageId"],
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=specs,
    )
    return str(reply["Instances"][0]["InstanceId"])


async def run_our_instance(ec2: AwsClient, public_key: str) -> str:
    """An instance as a launch makes it: our tags, and a key pair of ours holding PUBLIC_KEY."""
    name = await import_key_pair(ec2, KEY_PAIR_PREFIX + "0123456789ab", public_key)
    return await run_instance(ec2, name)
