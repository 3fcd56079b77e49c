"""Without AWS credentials and without the `sandbox` extra, the panel's status says in one
sentence how to get the sandbox (the wheel's own check is in test_packaging.py; this one fakes
the missing extra to run in a second)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_cloudlab.session import factory
from tests.helpers.rest_api import API


@pytest.fixture
def jp_server_config(
    cloudlab_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(factory, "sandbox_installed", lambda: False)
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": True}},
        "CloudLab": {"mode": "auto", "data_dir": str(cloudlab_data_dir)},
    }


@pytest.fixture
async def started(jp_serverapp: Any) -> AsyncIterator[Any]:
    await jp_serverapp.extension_manager.start_all_extensions()
    backend = jp_serverapp.web_app.settings["cloudlab_backend"]
    await backend.ready.wait()
    yield backend
    await backend.stop()


async def test_status_says_how_to_install_the_sandbox(started: Any, jp_fetch: Any) -> None:
    # Given no AWS credentials and no sandbox extra
    # When the panel asks for the status
    reply = await jp_fetch(*API, "status", raise_error=False)

    # Then it hears, in one sentence, what to install (or to configure AWS instead)
    assert reply.code == 503
    message = json.loads(reply.body)["message"]
    assert "pip install 'jupyter_cloudlab[sandbox]'" in message
    assert "aws sso login" in message
    assert started.current is None  # and nothing half-started is left behind
