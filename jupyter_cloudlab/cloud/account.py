"""Which AWS profile and region to use, as picked in JupyterLab's settings: checked before use."""

from __future__ import annotations

import boto3

from .errors import CloudError


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
    """Raise a 400 sentence for a profile or region that does not exist."""
    if profile is not None and profile not in known_profiles():
        known = ", ".join(known_profiles()) or "none"
        raise CloudError(
            f"There is no AWS profile named {profile!r} (known profiles: {known}). Fix the "
            "profile in Settings → CloudLab, or add it with `aws configure --profile "
            f"{profile}` or `aws configure sso`."
        )
    if region is not None and region not in ec2_regions():
        raise CloudError(
            f"{region!r} is not an EC2 region: use a name such as us-east-1 or eu-west-1 in "
            "Settings → CloudLab."
        )
