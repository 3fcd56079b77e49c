"""Through the whole server: a machine whose host key changed while stopped is refused, and the
panel's machine says failed with the reason and what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.rest_api import api_json, launch_ready, wait_state


async def test_changed_host_key_fails_the_machine_with_the_reason(
    cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given a machine that was ready once (its host key pinned), then stopped
    machine = await launch_ready(jp_fetch, name="rekeyed-box")
    await api_json(jp_fetch, "cloudlab", "api", "machines", machine["id"], "stop", method="POST")
    await wait_state(jp_fetch, machine["id"], "stopped")

    # When its host key is replaced on its disk (a rebuilt or impersonated machine)
    disk = cloudlab_data_dir / "sandbox" / "machines" / machine["instance_id"]
    (disk / "etc" / "ssh_host_ed25519_key").unlink()
    (disk / "console.log").unlink()
    await api_json(jp_fetch, "cloudlab", "api", "machines", machine["id"], "start", method="POST")

    # Then it is failed, saying the key changed and how to proceed; no kernels are offered
    failed = await wait_state(jp_fetch, machine["id"], "failed")
    assert "host key" in failed["message"] and "changed since it was pinned" in failed["message"]
    assert f"forget-host-key {machine['instance_id']}" in failed["message"]
    assert failed["kernelspecs"] == []
