"""Whose AWS account, and where: the credential chain, profiles and regions, checked before use.

The only place (with aws_client) that asks boto3 about the user's configuration, so the layers
above never import boto3.
"""

from __future__ import annotations

import boto3

from ..errors import ErrorKind
from .errors import CloudError

FALLBACK_REGION = "us-east-1"


def credentials_found(profile: str | None) -> bool:
    """Whether the boto3 credential chain (env, profiles, SSO, instance role) yields anything."""
    try:
        return boto3.session.Session(profile_name=profile).get_credentials() is not None
    except Exception:
        return False


def home_region(profile: str | None, configured: str = "") -> str:
    """The region launches go to: the configured one, else the profile's, else us-east-1."""
    if configured:
        return configured
    try:
        region = boto3.session.Session(profile_name=profile).region_name
    except Exception:
        region = None
    return region or FALLBACK_REGION


def known_profiles() -> list[str]:
    """The profiles of ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE and friends)."""
    return sorted(boto3.session.Session().available_profiles)


def ec2_regions() -> set[str]:
    """Every EC2 region botocore knows, in every partition (aws, aws-cn, aws-us-gov...)."""
    session = boto3.session.Session()
    return {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    }


def check_choice(profile: str | None, region: str | None) -> None:
    """Raise a sentence for a profile or region that does not exist."""
    if profile is not None and profile not in known_profiles():
        known = ", ".join(known_profiles()) or "none"
        raise CloudError(
            f"There is no AWS profile named {profile!r} (known profiles: {known}). Fix the "
            "profile in Settings → CloudLab, or add it with `aws configure --profile "
            f"{profile}` or `aws configure sso`.",
            ErrorKind.invalid,
        )
    if region is not None and region not in ec2_regions():
        raise CloudError(
            f"{region!r} is not an EC2 region: use a name such as us-east-1 or eu-west-1 in "
            "Settings → CloudLab.",
            ErrorKind.invalid,
        )
