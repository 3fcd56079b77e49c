"""AWS failures as plain sentences a user can act on."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    SSOTokenLoadError,
    TokenRetrievalError,
)


class CloudError(Exception):
    """A cloud failure with a sentence for the user and an HTTP-like status."""

    def __init__(self, message: str, status: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


_CLIENT_ERRORS: dict[str, tuple[int, str]] = {
    "InvalidAMIID.Malformed": (400, "The AMI id is malformed: use the form ami-0123456789abcdef0."),
    "InvalidAMIID.NotFound": (
        400,
        "That AMI does not exist in this region: pick one from the list.",
    ),
    "InvalidAMIID.Unavailable": (400, "That AMI is no longer available: pick another one."),
    "InsufficientInstanceCapacity": (
        503,
        "AWS has no capacity for this instance type in this zone right now: "
        "try another instance type or region, or try again later.",
    ),
    "VcpuLimitExceeded": (
        403,
        "Your account's vCPU quota for this instance family is used up: ask for a higher "
        "'Running On-Demand instances' quota in Service Quotas, or stop another machine.",
    ),
    "MaxSpotInstanceCountExceeded": (
        403,
        "Your account's spot instance quota is used up: request a higher spot quota in "
        "Service Quotas, or launch on-demand.",
    ),
    "InvalidInstanceID.NotFound": (404, "AWS no longer knows this instance."),
    "IncorrectInstanceState": (409, "The machine is not in a state that allows this right now."),
    "ExpiredToken": (401, "Your AWS session has expired: sign in again (for SSO: aws sso login)."),
    "RequestExpired": (
        401,
        "Your AWS session has expired: sign in again (for SSO: aws sso login).",
    ),
    "AuthFailure": (401, "AWS rejected the credentials: check your access keys or profile."),
}


def from_aws(error: Exception) -> CloudError:
    """Translate a boto3/botocore exception into a CloudError with a sentence."""
    if isinstance(error, CloudError):
        return error
    if isinstance(error, NoCredentialsError):
        return CloudError(
            "No AWS credentials were found: configure a profile (aws configure or aws sso login), "
            "or use the sandbox.",
            401,
            "NoCredentials",
        )
    if isinstance(error, (SSOTokenLoadError, TokenRetrievalError)):
        return CloudError("Your AWS SSO session has expired: run aws sso login.", 401, "SSOExpired")
    if isinstance(error, ProfileNotFound):
        return CloudError(f"{error}: pick an existing AWS profile.", 400, "ProfileNotFound")
    if isinstance(error, NoRegionError):
        return CloudError("No AWS region is set: choose one in the settings.", 400, "NoRegion")
    if isinstance(error, EndpointConnectionError):
        return CloudError(
            "The EC2 API could not be reached: check your network connection.", 503, "Offline"
        )
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in _CLIENT_ERRORS:
            status, sentence = _CLIENT_ERRORS[code]
            return CloudError(sentence, status, code)
        if code == "UnauthorizedOperation" or code.endswith("AccessDenied"):
            operation = getattr(error, "operation_name", "this operation")
            return CloudError(
                f"Your AWS identity may not call ec2:{operation}: add it to the IAM policy.",
                403,
                code,
            )
        detail = error.response.get("Error", {}).get("Message", "")
        return CloudError(f"AWS refused the request ({code}): {detail}", 400, code)
    if isinstance(error, BotoCoreError):
        return CloudError(f"The AWS client failed: {error}", 503, type(error).__name__)
    return CloudError(f"Unexpected cloud failure: {error}", 500, type(error).__name__)
