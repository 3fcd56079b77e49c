"""AWS failures become a plain sentence and an HTTP status; only throttling is retried.

Error replies moto cannot make come from botocore's Stubber on our AwsClient's own client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError, SSOTokenLoadError, UnauthorizedSSOTokenError
from botocore.stub import Stubber

from jupyter_cloudlab.cloud import aws_client
from jupyter_cloudlab.cloud.aws_client import AwsClient, AwsTarget
from jupyter_cloudlab.cloud.errors import CloudError, from_aws, quota_name
from jupyter_cloudlab.handlers.errors import HTTP_STATUS, http_error

LAUNCH = {
    "ImageId": "ami-0123456789abcdef0",
    "InstanceType": "g5.xlarge",
    "MinCount": 1,
    "MaxCount": 1,
}
SPOT = {"InstanceMarketOptions": {"MarketType": "spot"}}


@pytest.fixture
def ec2() -> Iterator[AwsClient]:
    client = AwsClient(
        AwsTarget(region="us-east-1", access_key_id="testing", secret_access_key="testing")
    )
    yield client


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_client, "THROTTLE_BASE_DELAY_SECONDS", 0.001)


async def _fails(
    ec2: AwsClient, code: str, message: str = "", params: dict[str, Any] | None = None
) -> CloudError:
    """The CloudError of run_instances(params) when AWS answers `code`."""
    with Stubber(ec2.client) as stubber:
        stubber.add_client_error("run_instances", code, message, 400)
        with pytest.raises(CloudError) as raised:
            await ec2.call("run_instances", **(params or LAUNCH))
        stubber.assert_no_pending_responses()
    return raised.value


async def test_unauthorized_operation_names_the_missing_action(ec2: AwsClient) -> None:
    # Given AWS's own wording, which names the action
    message = (
        "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/"
        "ana is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1"
    )
    # When launching fails with it, Then the sentence names ec2:RunInstances, with a 403
    error = await _fails(ec2, "UnauthorizedOperation", message)
    assert "ec2:RunInstances" in error.message and "IAM policy" in error.message
    assert HTTP_STATUS[error.kind] == 403
    # And with an encoded message only, the action is taken from the operation
    encoded = await _fails(ec2, "UnauthorizedOperation", "Encoded authorization failure: xyz")
    assert "ec2:RunInstances" in encoded.message


async def test_insufficient_capacity_suggests_another_zone_or_type(ec2: AwsClient) -> None:
    message = (
        "We currently do not have sufficient g5.xlarge capacity in the Availability Zone you "
        "requested (us-east-1a). Our system will be working on provisioning additional capacity. "
        "You can currently get g5.xlarge capacity by not specifying an Availability Zone in your "
        "request or choosing us-east-1b, us-east-1c."
    )
    error = await _fails(ec2, "InsufficientInstanceCapacity", message)
    assert HTTP_STATUS[error.kind] == 503
    assert "g5.xlarge" in error.message and "us-east-1a" in error.message
    assert "us-east-1b, us-east-1c" in error.message and "another instance type" in error.message


async def test_vcpu_quota_names_the_quota(ec2: AwsClient) -> None:
    error = await _fails(ec2, "VcpuLimitExceeded", "You have requested more vCPU capacity")
    assert "Running On-Demand G and VT instances" in error.message
    assert HTTP_STATUS[error.kind] == 403
    spot = await _fails(ec2, "MaxSpotInstanceCountExceeded", "", {**LAUNCH, **SPOT})
    assert "All G and VT Spot Instance Requests" in spot.message
    assert quota_name("m6i.xlarge", False) == (
        "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"
    )
    assert quota_name("p4d.24xlarge", True) == "All P Spot Instance Requests"
    assert quota_name("inf2.xlarge", False) == "Running On-Demand Inf instances"


async def test_invalid_ami_says_which(ec2: AwsClient) -> None:
    error = await _fails(ec2, "InvalidAMIID.NotFound", "The image id does not exist")
    assert HTTP_STATUS[error.kind] == 400
    assert "ami-0123456789abcdef0" in error.message and "pick an image" in error.message


async def test_expired_session_asks_to_sign_in_again(ec2: AwsClient) -> None:
    for code in ("ExpiredToken", "ExpiredTokenException"):
        error = await _fails(ec2, code, "The security token included in the request is expired")
        assert HTTP_STATUS[error.kind] == 401 and "sign in again" in error.message
    for sso in (
        SSOTokenLoadError(error_msg="expired"),
        UnauthorizedSSOTokenError(),
    ):
        mapped = from_aws(sso)
        assert HTTP_STATUS[mapped.kind] == 401 and "aws sso login" in mapped.message


async def test_no_credentials_from_the_real_chain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a computer with no credentials anywhere in boto3's chain
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    ec2 = AwsClient(AwsTarget(region="us-east-1", endpoint_url="http://127.0.0.1:9"))
    # When anything is called, Then a sentence says how to configure them, with a 401
    with pytest.raises(CloudError) as raised:
        await ec2.call("describe_instances")
    assert HTTP_STATUS[raised.value.kind] == 401 and "No AWS credentials" in raised.value.message
    assert from_aws(NoCredentialsError()).code == "NoCredentials"


async def test_throttling_is_retried_with_backoff_then_succeeds(ec2: AwsClient) -> None:
    with Stubber(ec2.client) as stubber:
        stubber.add_client_error("describe_instances", "RequestLimitExceeded", "slow down", 503)
        stubber.add_client_error("describe_instances", "Throttling", "slow down", 400)
        stubber.add_response("describe_instances", {"Reservations": []})
        assert (await ec2.call("describe_instances"))["Reservations"] == []
        stubber.assert_no_pending_responses()


async def test_throttling_gives_up_with_a_503(ec2: AwsClient) -> None:
    with Stubber(ec2.client) as stubber:
        for _ in range(aws_client.THROTTLE_ATTEMPTS):
            stubber.add_client_error("describe_instances", "RequestLimitExceeded", "", 503)
        with pytest.raises(CloudError) as raised:
            await ec2.call("describe_instances")
        stubber.assert_no_pending_responses()
    assert HTTP_STATUS[raised.value.kind] == 503 and "throttling" in raised.value.message


async def test_nothing_but_throttling_is_retried(ec2: AwsClient) -> None:
    # Given a capacity error followed by a reply that would succeed
    with Stubber(ec2.client) as stubber:
        stubber.add_client_error("run_instances", "InsufficientInstanceCapacity", "", 500)
        stubber.add_response("run_instances", {"Instances": []})
        # When launching, Then the error reaches the caller at once (one attempt, no retry)
        with pytest.raises(CloudError):
            await ec2.call("run_instances", **LAUNCH)
        with pytest.raises(AssertionError):
            stubber.assert_no_pending_responses()
    # And botocore's own retries are off, so this module's policy is the only one
    assert ec2.client.meta.config.retries["total_max_attempts"] == 1


async def test_each_error_becomes_its_http_status(ec2: AwsClient) -> None:
    cases = {
        "UnauthorizedOperation": 403,
        "InsufficientInstanceCapacity": 503,
        "VcpuLimitExceeded": 403,
        "InvalidAMIID.Malformed": 400,
        "ExpiredToken": 401,
    }
    for code, status in cases.items():
        error = await _fails(ec2, code, "detail")
        http = http_error(error)
        assert http is not None, code
        assert http.status_code == status, code
        assert http.reason == error.message and "Traceback" not in error.message
