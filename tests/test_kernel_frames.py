"""The msg_id of a kernel websocket frame, read from its header (the relay's resume point), in
each format jupyter_server writes; the machine's server module has its own copy."""

from __future__ import annotations

import json

import pytest
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import (
    serialize_binary_message,
    serialize_msg_to_ws_v1,
)

from jupyter_cloudlab.kernels.relay.kernel_frames import V1_PROTOCOL, frame_msg_id
from jupyter_cloudlab.machine_side import cloudlab_sent_log


def _message() -> dict:
    return Session(username="test").msg("stream", {"name": "stdout", "text": "hi\n"})


def _frames(msg: dict) -> list[tuple[str | bytes, str | None]]:
    v1 = serialize_msg_to_ws_v1(
        [
            *(
                json.dumps(msg[k], default=json_default).encode()
                for k in ("header", "parent_header", "metadata", "content")
            ),
            b"\0buf",
        ],
        "iopub",
    )
    legacy_text = json.dumps({**msg, "channel": "iopub"}, default=json_default)
    legacy_binary = serialize_binary_message({**msg, "channel": "iopub", "buffers": [b"\0buf"]})
    return [(v1, V1_PROTOCOL), (legacy_text, ""), (legacy_text, None), (legacy_binary, "")]


@pytest.mark.parametrize("parse", [frame_msg_id, cloudlab_sent_log.frame_msg_id])
def test_msg_id_of_each_frame_format(parse) -> None:
    msg = _message()
    for frame, protocol in _frames(msg):
        assert parse(frame, protocol) == msg["header"]["msg_id"]


@pytest.mark.parametrize("parse", [frame_msg_id, cloudlab_sent_log.frame_msg_id])
def test_not_a_kernel_message(parse) -> None:
    for frame, protocol in [
        ("", ""),
        ("{}", ""),
        ("[1]", ""),
        (b"", V1_PROTOCOL),
        (b"\0" * 7, ""),
        (b"\xff" * 40, V1_PROTOCOL),
    ]:
        assert parse(frame, protocol) is None
