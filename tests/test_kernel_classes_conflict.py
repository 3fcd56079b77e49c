"""When another package (or the user's config) set the server's kernel manager class, CloudLab
says so in GET /cloudlab/api/status instead of silently losing (issue 16, server hygiene)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

from jupyter_cloudlab.kernels.config import foreign_kernel_classes


@pytest.fixture
def jp_server_config(cloudlab_data_dir: Path) -> dict[str, Any]:
    """Another kernel manager class, set before CloudLab links (as a config file would)."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_cloudlab": True},
            "kernel_manager_class": (
                "jupyter_server.services.kernels.kernelmanager.AsyncMappingKernelManager"
            ),
        },
        "CloudLab": {"mode": "sandbox", "data_dir": str(cloudlab_data_dir)},
    }


def test_the_foreign_class_is_named_and_ours_stay_out(jp_serverapp: Any) -> None:
    # Given a server whose config set another kernel manager class
    # Then that class stays (CloudLab never overrides a class set by someone else)
    assert type(jp_serverapp.kernel_manager) is AsyncMappingKernelManager

    # And the sentence names that trait and class, and says machine kernels are off
    sentence = foreign_kernel_classes(jp_serverapp)
    assert "Machine kernels are off" in sentence
    assert "ServerApp.kernel_manager_class = " in sentence
    assert "AsyncMappingKernelManager" in sentence
    assert "kernel_spec_manager_class" not in sentence  # CloudLab's is still in use


async def test_the_status_carries_the_sentence(
    cloudlab_backend: Any, jp_fetch: Any, jp_serverapp: Any
) -> None:
    # When the panel asks for the status
    reply = await jp_fetch("cloudlab", "api", "status")

    # Then it carries the sentence, for the panel to show
    status = json.loads(reply.body)
    assert status["kernel_classes"] == foreign_kernel_classes(jp_serverapp)
    assert status["kernel_classes"].startswith("Machine kernels are off")
