"""AWS failures as plain sentences a user can act on, each with its kind (see ..errors)."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    SSOError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
    WaiterError,
)

from ..errors import CloudLabError, ErrorKind


class CloudError(CloudLabError):
    """An AWS (or EC2 stand-in) failure, with a sentence for the user."""


SIGN_IN_AGAIN = "Your AWS session has expired: sign in again (for SSO: aws sso login)."
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"}
_THROTTLED_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestThrottled"}
_FIXED: dict[str, tuple[ErrorKind, str]] = {
    "InvalidInstanceID.NotFound": (ErrorKind.not_found, "AWS no longer knows this instance."),
    "IncorrectInstanceState": (
        ErrorKind.conflict,
        "The machine is not in a state that allows this right now.",
    ),
    "RequestExpired": (
        ErrorKind.credentials,
        "AWS says the request expired: check this computer's clock, or sign in again.",
    ),
    "AuthFailure": (
        ErrorKind.credentials,
        "AWS rejected the credentials: check your access keys or profile.",
    ),
    "InvalidClientTokenId": (
        ErrorKind.credentials,
        "AWS does not know these access keys: check your profile.",
    ),
    "UnrecognizedClientException": (
        ErrorKind.credentials,
        "AWS does not know these credentials: check your profile.",
    ),
    "OptInRequired": (
        ErrorKind.forbidden,
        "Your account is not subscribed to this region or offer: opt in first.",
    ),
    "DependencyViolation": (
        ErrorKind.conflict,
        "The resource is still in use by another one: try again soon.",
    ),
}

# Service Quotas names (https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html)
_QUOTA_GROUPS = (
    (("g", "vt"), "G and VT"),
    (("p",), "P"),
    (("inf",), "Inf"),
    (("trn",), "Trn"),
    (("dl",), "DL"),
    (("f",), "F"),
    (("x",), "X"),
)
_FAMILY = re.compile(r"^([a-z]+?)\d")


def quota_name(instance_type: str | None, spot: bool) -> str:
    """The Service Quotas name that limits vCPUs of this instance type."""
    match = _FAMILY.match(instance_type or "")
    family = match.group(1) if match else ""
    group = "Standard (A, C, D, H, I, M, R, T, Z)"
    for prefixes, name in _QUOTA_GROUPS:
        if family in prefixes:
            group = name
            break
    if spot:
        return f"All {group} Spot Instance Requests"
    return f"Running On-Demand {group} instances"


def _is_spot(params: dict[str, Any]) -> bool:
    market = params.get("InstanceMarketOptions") or {}
    return bool(market.get("MarketType") == "spot")


def _denied(error: ClientError, service: str) -> CloudError:
    code = error.response.get("Error", {}).get("Code", "")
    detail = error.response.get("Error", {}).get("Message", "")
    found = re.search(r"perform: ([a-z0-9-]+:[A-Za-z0-9]+)", detail)
    action = found.group(1) if found else f"{service}:{error.operation_name}"
    return CloudError(
        f"Your AWS identity is not allowed to call {action}: add it to your IAM policy "
        "(see iam-policy.json).",
        ErrorKind.forbidden,
        code,
    )


def _capacity(detail: str, params: dict[str, Any]) -> CloudError:
    named = re.search(r"sufficient ([a-z0-9-]+\.[a-z0-9-]+) capacity", detail)
    instance_type = params.get("InstanceType") or (named.group(1) if named else "such")
    zone = re.search(r"Availability Zone you requested \(([a-z0-9-]+)\)", detail)
    others = re.search(r"choosing ([a-z0-9-]+(?:, [a-z0-9-]+)*)", detail)
    where = f" in {zone.group(1)}" if zone else " in this zone"
    hint = f"another zone ({others.group(1)})" if others else "another zone or region"
    return CloudError(
        f"AWS has no {instance_type} capacity{where} right now: try {hint}, another instance type"
        + (", on-demand instead of spot" if _is_spot(params) else "")
        + ", or try again later.",
        ErrorKind.unavailable,
        "InsufficientInstanceCapacity",
    )


def _client_error(error: ClientError, service: str, params: dict[str, Any]) -> CloudError:
    code = error.response.get("Error", {}).get("Code", "")
    detail = error.response.get("Error", {}).get("Message", "")
    if code in _FIXED:
        kind, sentence = _FIXED[code]
        return CloudError(sentence, kind, code)
    if code in _EXPIRED_CODES:
        return CloudError(SIGN_IN_AGAIN, ErrorKind.credentials, code)
    if code in ("UnauthorizedOperation", "AccessDeniedException") or code.endswith("AccessDenied"):
        return _denied(error, service)
    if code in ("InsufficientInstanceCapacity", "InsufficientCapacity"):
        return _capacity(detail, params)
    instance_type = params.get("InstanceType")
    if code in ("VcpuLimitExceeded", "MaxSpotInstanceCountExceeded"):
        quota = quota_name(instance_type, _is_spot(params) or code.startswith("MaxSpot"))
        return CloudError(
            f"Launching {instance_type or 'this machine'} would pass your account's quota "
            f"'{quota}' (vCPUs): ask for more in Service Quotas, stop another machine, "
            "or pick a smaller type.",
            ErrorKind.quota,
            code,
        )
    if code.startswith("InvalidAMIID"):
        image = params.get("ImageId", "That AMI")
        reason = "is malformed" if code.endswith("Malformed") else "does not exist here"
        if code.endswith("Unavailable"):
            reason = "is no longer available"
        return CloudError(
            f"{image} {reason}: pick an image from the list.", ErrorKind.invalid, code
        )
    if code in _THROTTLED_CODES or code in ("TooManyRequestsException", "SlowDown"):
        return CloudError(
            "AWS is throttling this account's requests: try again in a minute.",
            ErrorKind.unavailable,
            code,
        )
    return CloudError(f"AWS refused the request ({code}): {detail}", ErrorKind.invalid, code)


def from_aws(
    error: Exception, service: str = "ec2", params: dict[str, Any] | None = None
) -> CloudError:
    """Translate a boto3/botocore exception into a CloudError with a sentence."""
    if isinstance(error, CloudError):
        return error
    if isinstance(error, NoCredentialsError):
        return CloudError(
            "No AWS credentials were found: configure a profile (aws configure or aws sso login), "
            "or use the sandbox.",
            ErrorKind.credentials,
            "NoCredentials",
        )
    if isinstance(
        error, (SSOTokenLoadError, UnauthorizedSSOTokenError, TokenRetrievalError, SSOError)
    ):
        return CloudError(
            "Your AWS SSO session has expired: run aws sso login.",
            ErrorKind.credentials,
            "SSOExpired",
        )
    if isinstance(error, ProfileNotFound):
        return CloudError(
            f"{error}: pick an existing AWS profile.", ErrorKind.invalid, "ProfileNotFound"
        )
    if isinstance(error, NoRegionError):
        return CloudError(
            "No AWS region is set: choose one in the settings.", ErrorKind.invalid, "NoRegion"
        )
    if isinstance(error, EndpointConnectionError):
        return CloudError(
            "The AWS API could not be reached: check your network connection.",
            ErrorKind.unavailable,
            "Offline",
        )
    if isinstance(error, ClientError):
        return _client_error(error, service, params or {})
    if isinstance(error, WaiterError):
        reason = getattr(error, "last_response", {}) or {}
        code = reason.get("Error", {}).get("Code") if isinstance(reason, dict) else None
        return CloudError(
            f"The machine did not reach the expected state: {error.kwargs.get('reason', error)}",
            ErrorKind.conflict if code is None else ErrorKind.invalid,
            code or "WaiterFailed",
        )
    if isinstance(error, BotoCoreError):
        return CloudError(
            f"The AWS client failed: {error}", ErrorKind.unavailable, type(error).__name__
        )
    return CloudError(
        f"Unexpected cloud failure: {error}", ErrorKind.unexpected, type(error).__name__
    )
