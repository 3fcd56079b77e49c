"""What the sandbox's EC2 (moto) really holds, asked over boto3 like any EC2 client, beside what
the API says.

Kept free of fixtures so any test module can use them.
"""

from __future__ import annotations

from typing import Any

import boto3

from jupyter_cloudlab.cloud.access import KEY_PAIR_PREFIX, SECURITY_GROUP_PREFIX


def moto_client(backend: Any) -> Any:
    """A plain boto3 EC2 client on the sandbox's endpoint: what EC2 itself says."""
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
