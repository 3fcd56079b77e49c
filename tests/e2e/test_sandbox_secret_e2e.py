"""Through the whole server: the sandbox endpoint's secret stays in the endpoint file, out of
REST replies and logs, and the endpoint refuses whoever does not have it."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from jupyter_cloudlab.data_folder import DataFolder
from jupyter_cloudlab.sandbox.sandbox import read_endpoint_file
from tests.helpers.rest_api import api_reply


async def test_the_sandbox_secret_is_in_no_reply_or_log(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Given a server in sandbox mode, whose endpoint file holds the credentials of this run
    target = read_endpoint_file(DataFolder(cloudlab_data_dir))
    assert target is not None and target.secret_access_key and target.access_key_id
    assert target == cloudlab_backend.current.ec2.target

    # When the panel reads the server's state
    bodies = [
        (await api_reply(jp_fetch, "cloudlab", "api", *path))[1]
        for path in (("status",), ("account",), ("machines",))
    ]

    # Then neither the secret nor the key id is in a reply or in the log
    for text in [*bodies, caplog.text]:
        assert target.secret_access_key not in text
        assert target.access_key_id not in text

    # And the endpoint refuses a client without them
    stranger = boto3.client(
        "ec2",
        region_name=target.region,
        endpoint_url=target.endpoint_url,
        aws_access_key_id="AKIA" + secrets.token_hex(8).upper(),
        aws_secret_access_key=secrets.token_urlsafe(30),
    )
    with pytest.raises(ClientError, match="AuthFailure"):
        stranger.describe_instances()
