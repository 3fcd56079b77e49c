"""AWS Signature Version 4 on the receiving end: is a request signed with a secret we know?

The sandbox's EC2 endpoint uses it to let only its own clients in. The signature is computed
again with botocore's SigV4Auth (the code boto3 signs with) over the request as received, and
compared in constant time. `sign` signs a plain HTTP request the same way (moto's own routes,
which boto3 has no operation for). Here because only the cloud layer imports botocore.
"""

from __future__ import annotations

import calendar
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# AWS refuses a request signed more than 5 minutes before (or after) it arrives.
SIGNATURE_MAX_AGE_SECONDS = 300
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key_id>[A-Za-z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)"
    r"/(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class SignatureRefused(Exception):
    """The request is not signed with our secret (`code` is the AWS error code to answer)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    host: str
    path: str
    """As sent, percent-encoded, without the query."""
    query: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes


def check_signature(
    request: ReceivedRequest, access_key_id: str, secret_access_key: str, now: float | None = None
) -> None:
    """Raise SignatureRefused unless REQUEST carries a SigV4 signature made with this key id and
    secret, over its Host and date, dated within SIGNATURE_MAX_AGE_SECONDS of NOW."""
    found = _AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
    if found is None:
        raise SignatureRefused("AuthFailure", "The request is not signed (AWS SigV4).")
    if not hmac.compare_digest(found["key_id"].encode(), access_key_id.encode()):
        raise SignatureRefused("AuthFailure", "The access key id is not known here.")
    amz_date = request.headers.get("x-amz-date", "")
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, _AMZ_DATE))
    except ValueError:
        raise SignatureRefused("AuthFailure", "The request has no valid X-Amz-Date.") from None
    if abs((time.time() if now is None else now) - signed_at) > SIGNATURE_MAX_AGE_SECONDS:
        raise SignatureRefused("RequestExpired", "The request was signed over 5 minutes ago.")
    names = found["headers"].split(";")
    if "host" not in names or "x-amz-date" not in names or found["date"] != amz_date[:8]:
        raise SignatureRefused("AuthFailure", "The signature does not cover the Host and date.")
    signed = {name: request.headers.get(name) for name in names}
    headers = {name: value for name, value in signed.items() if value is not None}
    if len(headers) != len(signed):
        raise SignatureRefused("AuthFailure", "A signed header is missing.")
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and declared != sha256(request.body).hexdigest():
        raise SignatureRefused("SignatureDoesNotMatch", "The body is not the one signed.")
    url = f"http://{request.host}{request.path}" + (f"?{request.query}" if request.query else "")
    rebuilt = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    rebuilt.context["timestamp"] = amz_date
    auth = SigV4Auth(
        Credentials(access_key_id, secret_access_key), found["service"], found["region"]
    )
    canonical = auth.canonical_request(rebuilt)
    expected = str(auth.signature(auth.string_to_sign(rebuilt, canonical), rebuilt))
    if not hmac.compare_digest(expected.encode(), found["signature"].encode()):
        raise SignatureRefused("SignatureDoesNotMatch", "The request signature does not match.")


def sign(
    method: str,
    url: str,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str = "ec2",
    body: bytes = b"",
) -> dict[str, str]:
    """The headers (Authorization, X-Amz-Date) that sign a request to URL, as boto3 would."""
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(Credentials(access_key_id, secret_access_key), service, region).add_auth(request)
    return dict(request.headers.items())
