"""GET /cloudlab/api/machines/{id}/log: a running machine's server log for JupyterLab's log tab,
and the bootstrap's steps on the machine (`Machine.message` while it connects) for the launch notification."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.rest_api import API, api_json, api_reply, launch_ready, wait_state


async def test_log_of_a_ready_machine_then_409_once_stopped(
    cloudlab_backend: Any, jp_fetch: Any
) -> None:
    # Given a ready sandbox machine
    machine = await launch_ready(jp_fetch, name="log-box")
    mid = machine["id"]

    # Then its last bootstrap step says what it found
    assert machine["message"] in ("1 kernel found", f"{len(machine['kernelspecs'])} kernels found")

    # When its log is asked for, 20 lines
    status, text = await _log(jp_fetch, mid, "20")

    # Then the machine server's last lines come back, without its token
    assert status == 200, text
    reply = json.loads(text)
    assert reply["machine_id"] == mid and reply["lines"] == 20
    assert 0 < len(reply["text"].splitlines()) <= 20
    token = cloudlab_backend.machine_servers.get(mid).token
    assert token not in reply["text"]

    # And a count out of bounds or not a number is a 400 with a sentence
    for lines in ("0", "99999", "many"):
        status, text = await _log(jp_fetch, mid, lines)
        assert status == 400, (lines, text)
        assert "lines" in json.loads(text)["message"]

    # When the machine is stopped
    await api_json(jp_fetch, *API, "machines", mid, "stop", method="POST", body={})
    await wait_state(jp_fetch, mid, "stopped")
    status, text = await api_reply(jp_fetch, *API, "machines", mid, "log")

    # Then its log is a 409 that says to start it
    assert status == 409, text
    assert "Start it first" in json.loads(text)["message"]

    # And an unknown machine is a 404
    status, _ = await api_reply(jp_fetch, *API, "machines", "m-0000dead", "log")
    assert status == 404


async def _log(jp_fetch: Any, machine_id: str, lines: str) -> tuple[int, str]:
    reply = await jp_fetch(
        *API, "machines", machine_id, "log", params={"lines": lines}, raise_error=False
    )
    return reply.code, reply.body.decode("utf-8", "replace")
