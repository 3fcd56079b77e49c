"""The tags that mark a resource as ours, and whose; the cloud, not a local file, is the truth.

Three tags say who made a resource, from its creation on (tags are set only in the creating call):

- `cloudlab:owner=jupyter_cloudlab`: made by this extension, on any computer;
- `cloudlab:computer=<digest>`: made by this computer. The digest is that of its SSH client key,
  the same one that names its key pair and security group, so one account shared by several
  computers (or people) keeps each one's machines apart;
- `cloudlab:principal=<aws:userid>`: made by this AWS principal. The code never reads it back;
  `iam-policy.json` checks it against `${aws:userid}`, so another principal of the account with
  the same policy can neither create in our name nor change what we made.

A machine is ours when it carries our owner and computer tags AND was launched with our key pair
AND has a well-formed machine id that no other live instance of ours shares
(`instances.find_ours`). Tags alone prove nothing: anyone who may create tagged instances in the
account can copy them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from .aws_client import AwsClient
from .errors import CloudError

OWNER_TAG = "cloudlab:owner"
OWNER_VALUE = "jupyter_cloudlab"
COMPUTER_TAG = "cloudlab:computer"
PRINCIPAL_TAG = "cloudlab:principal"
MACHINE_ID_TAG = "cloudlab:machine-id"
NAME_TAG = "Name"
SSH_USER_TAG = "cloudlab:ssh-user"
# What the orchestrator makes (`m-` + 8 hex digits); anything else on an instance is not ours.
MACHINE_ID_PATTERN = re.compile(r"m-[0-9a-f]{8}")
# Names of this computer's key pair and security group: the prefix, then its digest.
KEY_PAIR_PREFIX = "jupyter-cloudlab-"
SECURITY_GROUP_PREFIX = "jupyter-cloudlab-ssh-"

log = logging.getLogger(__name__)


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def ours_filter() -> list[dict[str, Any]]:
    """Our owner tag, whatever the computer: for `sweep --all-computers` only."""
    return [{"Name": f"tag:{OWNER_TAG}", "Values": [OWNER_VALUE]}]


def is_machine_id(value: str) -> bool:
    return MACHINE_ID_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True)
class Computer:
    """This computer as the cloud knows it: the digest of its SSH client public key."""

    digest: str

    @classmethod
    def of(cls, public_key: str) -> Computer:
        """The computer whose public key line (`ssh-ed25519 AAAA... comment`) this is."""
        return cls(hashlib.sha256(public_key.split()[1].encode()).hexdigest()[:12])

    @property
    def key_pair_name(self) -> str:
        """Named after the key itself, so two computers of one account never fight over it."""
        return KEY_PAIR_PREFIX + self.digest

    @property
    def security_group_name(self) -> str:
        """One group per computer: each holds its own /32, and never revokes another's."""
        return SECURITY_GROUP_PREFIX + self.digest

    def filters(self) -> list[dict[str, Any]]:
        """EC2 filters for what this computer made: our owner tag and its computer tag."""
        return [*ours_filter(), {"Name": f"tag:{COMPUTER_TAG}", "Values": [self.digest]}]


@dataclass(frozen=True)
class Owner:
    """Who creates a resource: this computer, and the AWS principal it calls as."""

    computer: Computer
    principal: str | None
    """The caller's `aws:userid`; None where the endpoint could not say (IAM then refuses
    creation under our policy, which requires it)."""

    def tags(self) -> dict[str, str]:
        """The tags every resource we create carries from its creation on."""
        tags = {OWNER_TAG: OWNER_VALUE, COMPUTER_TAG: self.computer.digest}
        if self.principal:
            tags[PRINCIPAL_TAG] = self.principal
        return tags


async def owner_for(ec2: AwsClient, computer: Computer) -> Owner:
    """This computer and the principal that `ec2`'s credentials belong to.

    sts:GetCallerIdentity needs no permission (AWS answers it even under an explicit deny); its
    UserId is what IAM compares with `${aws:userid}`.
    """
    sts = AwsClient(ec2.target, "sts", ec2.region)
    try:
        reply = await sts.call("get_caller_identity")
    except CloudError as error:
        log.warning("Could not tell which AWS principal this is: %s", error.message)
        return Owner(computer, None)
    return Owner(computer, str(reply.get("UserId") or "") or None)
