"""The panel's live updates: lifecycle events reach a subscriber of the server's event stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_cloudlab.events import MACHINE_EVENT_SCHEMA_ID
from tests.helpers.rest_api import launch_ready


async def test_machine_state_events_reach_the_event_stream(
    cloudlab_backend: Any, jp_fetch: Any, jp_ws_fetch: Any
) -> None:
    # Given a browser subscribed to the server's events, as JupyterLab is
    stream = await jp_ws_fetch("api", "events", "subscribe")
    # When a machine is launched until ready
    machine = await launch_ready(jp_fetch, name="evented")
    # Then the stream carried its states, in order, ending with ready
    states: list[str] = []
    while "ready" not in states:
        frame = await asyncio.wait_for(stream.read_message(), 30)
        assert frame is not None, "event stream closed"
        event = json.loads(frame)
        if (
            event.get("schema_id") == MACHINE_EVENT_SCHEMA_ID
            and event["machine_id"] == machine["id"]
        ):
            states.append(event["state"])
    assert states[0] == "requesting"
    assert states.index("pending") < states.index("connecting") < states.index("ready")
    stream.close()
