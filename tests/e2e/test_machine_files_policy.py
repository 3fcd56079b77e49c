"""The machine proxy's rules, one by one (no server: machine_proxy_policy.py is pure)."""

from __future__ import annotations

import pytest
from tornado import web

from jupyter_cloudlab.handlers import machine_proxy_policy as policy


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "a/../../b",
        "./a",
        "a//b",
        "/etc",
        "a\\..\\b",
        "a\x00b",
        "%2e%2e/x",
        "a/%2E%2e",
        "a\nb",
    ],
)
def test_a_path_that_leaves_the_root_is_refused(path: str) -> None:
    # Given a path as tornado decoded it; When it is checked; Then it is a 400
    with pytest.raises(web.HTTPError) as refused:
        policy.confined_path(path)
    assert refused.value.status_code == 400


def test_a_confined_path_is_quoted_segment_by_segment() -> None:
    assert policy.confined_path("") == ""
    assert policy.confined_path("dir/a b#c?.txt") == "dir/a%20b%23c%3F.txt"
    assert policy.confined_path("dir/") == "dir"


def test_only_inert_types_keep_their_type_and_active_files_are_attachments() -> None:
    assert policy.file_content_type("a.png", "image/png") == ("image/png", False)
    assert policy.file_content_type("a.txt", "text/plain") == ("text/plain; charset=utf-8", False)
    assert policy.file_content_type("a.html", "text/html") == ("application/octet-stream", True)
    # A type the machine gives that looks inert does not save an active extension
    assert policy.file_content_type("a.svg", "text/plain") == ("application/octet-stream", True)
    assert policy.file_content_type("a.bin", None) == ("application/octet-stream", True)


def test_the_browser_session_never_goes_to_the_machine_nor_the_machine_cookies_back() -> None:
    sent = policy.request_headers(
        [
            ("Cookie", "_xsrf=1; username-x=secret"),
            ("X-XSRFToken", "1"),
            ("Authorization", "token local"),
            ("Origin", "http://localhost:8888"),
            ("Content-Type", "application/json"),
        ]
    )
    assert sent == [("Content-Type", "application/json")]
    back = policy.reply_headers(
        [("Set-Cookie", "a=b"), ("Location", "/x"), ("Content-Type", "text/html"), ("ETag", "1")]
    )
    assert back == [("ETag", "1")]
    assert policy.query_string({"type": [b"file"], "token": [b"x"]}) == "?type=file"
