"""How a machine is reached: our key pair and our security group (SSH from one address only)."""

from __future__ import annotations

import hashlib

from .aws_client import AwsClient
from .errors import CloudError
from .tags import OWNER_TAG, OWNER_VALUE, tag_list

KEY_PAIR_PREFIX = "jupyter-cloudlab-"
SECURITY_GROUP_NAME = "jupyter-cloudlab-ssh"


def key_pair_name(public_key: str) -> str:
    """Named after the key itself, so two computers of one account never fight over a name."""
    digest = hashlib.sha256(public_key.split()[1].encode()).hexdigest()
    return KEY_PAIR_PREFIX + digest[:12]


async def ensure_key_pair(ec2: AwsClient, public_key: str) -> str:
    """Import this computer's public key once per region; returns the key pair's name."""
    name = key_pair_name(public_key)
    reply = await ec2.call(
        "describe_key_pairs",
        Filters=[{"Name": "key-name", "Values": [name]}],
        IncludePublicKey=True,
    )
    for pair in reply.get("KeyPairs", []):
        existing = pair.get("PublicKey", "").split()[:2]
        if existing and existing != public_key.split()[:2]:
            raise CloudError(
                f"The key pair '{name}' in {ec2.region} holds another key than its name says: "
                "delete it in the EC2 console and launch again.",
                409,
            )
        return name
    await ec2.call(
        "import_key_pair",
        KeyName=name,
        PublicKeyMaterial=public_key.encode(),
        TagSpecifications=[
            {"ResourceType": "key-pair", "Tags": tag_list({OWNER_TAG: OWNER_VALUE})}
        ],
    )
    return name


async def ensure_security_group(ec2: AwsClient, ssh_from_cidr: str) -> str:
    """Our group in the default VPC, allowing SSH from `ssh_from_cidr` only."""
    reply = await ec2.call(
        "describe_security_groups",
        Filters=[{"Name": "group-name", "Values": [SECURITY_GROUP_NAME]}],
    )
    groups = reply.get("SecurityGroups", [])
    if groups:
        group_id: str = groups[0]["GroupId"]
        allowed = {
            ip_range["CidrIp"]
            for permission in groups[0].get("IpPermissions", [])
            if permission.get("FromPort") == 22
            for ip_range in permission.get("IpRanges", [])
        }
        if ssh_from_cidr in allowed:
            return group_id
    else:
        created = await ec2.call(
            "create_security_group",
            GroupName=SECURITY_GROUP_NAME,
            Description="SSH to jupyter_cloudlab machines from one address",
            TagSpecifications=[
                {"ResourceType": "security-group", "Tags": tag_list({OWNER_TAG: OWNER_VALUE})}
            ],
        )
        group_id = created["GroupId"]
    await ec2.call(
        "authorize_security_group_ingress",
        GroupId=group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": ssh_from_cidr, "Description": "jupyter_cloudlab"}],
            }
        ],
    )
    return group_id
