"""Error sentences reach the panel intact in the JSON body, whatever their characters.

tornado sends "Unknown" on the status line for a reason outside latin-1 (such as
"Settings → CloudLab"), so the sentence travels as the body's `message` and the status line
carries the standard ASCII reason. Needs no sandbox: the refusals come before any session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.rest_api import API


@pytest.fixture
def jp_server_config(aws_profiles: None, cloudlab_data_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": True}},
        "CloudLab": {"mode": "sandbox", "data_dir": str(cloudlab_data_dir)},
    }


async def _put_account(jp_fetch: Any, body: str) -> Any:
    return await jp_fetch(*API, "account", method="PUT", body=body, raise_error=False)


async def test_a_domain_error_sentence_arrives_intact(jp_fetch: Any) -> None:
    # Given profiles "work" and "lab" in the AWS config
    # When the settings name a profile that does not exist
    reply = await _put_account(jp_fetch, json.dumps({"profile": "nope"}))

    # Then the body's message is the whole sentence, arrow included, as JSON
    assert reply.code == 400
    assert reply.headers["Content-Type"].startswith("application/json")
    body = json.loads(reply.body.decode("utf-8"))
    assert "There is no AWS profile named 'nope'" in body["message"]
    assert "Settings → CloudLab" in body["message"]
    # and the status line's reason is the standard one, never "Unknown"
    assert reply.reason == "Bad Request"
    assert body["reason"] == "Bad Request"


async def test_a_validation_sentence_with_any_characters_arrives_intact(jp_fetch: Any) -> None:
    # Given a request body whose unknown field is named with non-latin-1 characters
    # When it is sent
    reply = await _put_account(jp_fetch, json.dumps({"région→": "eu-west-1"}))

    # Then the sentence names the field exactly, in the body
    assert reply.code == 400
    body = json.loads(reply.body.decode("utf-8"))
    assert "région→" in body["message"]
    assert reply.reason == "Bad Request"


async def test_a_method_not_allowed_is_json_too(jp_fetch: Any) -> None:
    # When a method the route lacks is used
    reply = await jp_fetch(*API, "account", method="GET", raise_error=False)

    # Then the reply is still a JSON sentence, with the methods the route has
    assert reply.code == 405
    assert json.loads(reply.body)["message"] == "Method Not Allowed"
    assert reply.reason == "Method Not Allowed"
    assert "PUT" in reply.headers["Allow"].split(", ")
