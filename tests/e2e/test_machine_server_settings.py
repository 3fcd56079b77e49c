"""The user's settings for the machine's own server reach it: culling and the offline buffer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.rest_api import api_json, launch_ready


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """The end-to-end config, with the user's settings for the machine's server."""
    jp_server_config["CloudLab"].update(
        machine_cull_idle_timeout=5400, machine_cull_busy=True, machine_offline_buffer_mb=16
    )
    return jp_server_config


async def test_machine_server_follows_the_users_culling_and_buffer_settings(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given culling after 90 minutes (busy kernels too) and a 16 MB offline buffer
    # When a machine is launched
    machine = await launch_ready(jp_fetch, name="tuned")
    # Then its jupyter server was started with exactly those settings
    home = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"] / "home" / "ubuntu"
    config = json.loads((home / ".cloudlab" / "jupyter_server_config.json").read_text())
    assert config["MappingKernelManager"]["cull_idle_timeout"] == 5400
    assert config["MappingKernelManager"]["cull_busy"] is True
    assert config["BufferingKernelManager"]["offline_buffer_bytes"] == 16 * 1024 * 1024
    await api_json(jp_fetch, "cloudlab", "api", "machines", machine["id"], method="DELETE")
