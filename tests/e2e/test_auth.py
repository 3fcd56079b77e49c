"""Authentication of the REST API: every route refuses a request without the server's token, the
server raises no auth warning for our handlers when unauthenticated access is off, and no reply
or log line carries a secret (the machine's server token, our SSH private key)."""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient

from jupyter_cloudlab.handlers import api_routes
from jupyter_cloudlab.handlers.machine_proxy_routes import machine_proxy_routes
from tests.helpers.rest_api import API, TRACEBACK_MARKERS, api_reply, launch_ready
from tests.helpers.sandbox_ec2 import cloud_resources

VERBS = ("get", "post", "put", "patch", "delete")
# A browser on the same origin that passes the XSRF check but has no token: only auth stops it.
XSRF = {"Cookie": "_xsrf=c0ffee00c0ffee00", "X-XSRFToken": "c0ffee00c0ffee00"}
GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^)]*)\)")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.name} {record.levelname} {record.getMessage()}"
        self.lines.append(line)
        if record.levelno >= logging.WARNING:
            self.warnings.append(line)


@pytest.fixture
def server_log() -> Iterator[_Records]:
    """Every log line of this process, DEBUG included (the server's own logger propagates)."""
    records = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(records)
    root.setLevel(level)


def _routes(machine_id: str) -> list[tuple[str, str]]:
    """(METHOD, path) of every verb of every route, with path parameters filled in."""
    requests = []
    for pattern, handler in [*api_routes(), *machine_proxy_routes()]:
        paths = [pattern]
        for group in GROUP.finditer(pattern):
            values = {
                "machine_id": [machine_id],
                "kernel_name": [f"cloudlab.{machine_id}.python3"],
                "path": ["logo-64x64.png"],
                "file_path": ["/a.txt"],
                "terminal": ["", "/1"],
                "terminal_name": ["1"],
            }.get(group["name"]) or group["body"].split("|")
            paths = [p.replace(group[0], v) for p in paths for v in values]
        verbs = [v for v in VERBS if getattr(handler, v) is not getattr(web.RequestHandler, v)]
        requests += [(verb.upper(), path) for path in paths for verb in verbs]
    return requests


def _documented(machine_id: str) -> set[tuple[str, str]]:
    spec = yaml.safe_load(resources.files("jupyter_cloudlab").joinpath("openapi.yaml").read_text())
    base = spec["servers"][0]["url"]
    return {
        (verb.upper(), base + path.replace("{machine_id}", machine_id))
        for path, item in spec["paths"].items()
        for verb in item
        if verb in VERBS
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "token not-the-token"}],
    ids=["no-token", "wrong-token"],
)
async def test_every_route_refuses_a_request_without_the_token(
    cloudlab_backend: Any,
    jp_fetch: Any,
    jp_http_port: int,
    jp_base_url: str,
    headers: dict[str, str],
) -> None:
    # Given every route of the API (the same set the OpenAPI document promises)
    routes = _routes("m-0000dead")
    # The REST API is documented whole; the one route outside it serves machines' kernel logos.
    rest = {(method, path) for method, path in routes if path.startswith("/cloudlab/api/")}
    assert rest == _documented("m-0000dead")
    assert ("GET", "/kernelspecs/cloudlab.m-0000dead.python3/logo-64x64.png") in routes
    assert ("PATCH", "/cloudlab/api/machines/m-0000dead") in routes  # the mirror switch
    for lifecycle in ("retry", "resize", "image", "dismiss"):
        assert ("POST", f"/cloudlab/api/machines/m-0000dead/{lifecycle}") in routes
    assert ("PUT", "/cloudlab/api/machines/m-0000dead/guard") in routes  # idle stop, budget
    assert ("GET", "/cloudlab/api/machines/m-0000dead/log") in routes  # the server log tab
    # And the machine server's files and terminals, proxied (REST and the terminal's websocket)
    proxied = "/cloudlab/machines/m-0000dead/server/"
    assert ("PUT", proxied + "api/contents/a.txt") in routes
    assert ("GET", proxied + "files/a.txt") in routes
    assert ("POST", proxied + "api/terminals") in routes
    assert ("GET", proxied + "terminals/websocket/1") in routes
    images = json.loads((await jp_fetch(*API, "catalog", "images")).body)["images"]
    launch = {"instance_type": "t3.medium", "image_id": images[0]["id"]}
    client = AsyncHTTPClient()

    for method, path in routes:
        # When it is called without the server's token (a valid launch body, for POST)
        reply = await client.fetch(
            f"http://127.0.0.1:{jp_http_port}" + url_path_join(jp_base_url, path),
            method=method,
            headers={**XSRF, **headers},
            body=json.dumps(launch) if method == "POST" else None,
            allow_nonstandard_methods=True,
            raise_error=False,
            follow_redirects=False,
        )

        # Then it is refused, without a traceback
        text = reply.body.decode("utf-8", "replace")
        assert reply.code in (401, 403), (method, path, reply.code, text)
        for marker in TRACEBACK_MARKERS:
            assert marker not in text, (method, path, text)

    # And nothing was launched
    status, text = await api_reply(jp_fetch, *API, "machines")
    assert status == 200 and json.loads(text)["machines"] == []
    assert cloud_resources(cloudlab_backend)["instances"] == []


class _Undecorated(web.RequestHandler):
    def get(self) -> None:
        self.finish("open")


def _patterns(router: Any) -> list[str]:
    """Every URL pattern a tornado router serves, through nested (per-host) routers."""
    found = []
    for rule in getattr(router, "rules", []):
        regex = getattr(rule.matcher, "regex", None)
        if regex is not None:
            found.append(regex.pattern)
        found += _patterns(rule.target)
    return found


def _auth_complaints(lines: list[str]) -> list[str]:
    return [
        line
        for line in lines
        if "cloudlab" in line.lower()
        and ("authenticated" in line.lower() or "authorized" in line.lower())
    ]


async def test_no_auth_warning_for_our_routes_with_unauthenticated_access_off(
    jp_configurable_serverapp: Any, cloudlab_data_dir: Path, server_log: _Records
) -> None:
    # Given the server configured to refuse any handler that skips authentication
    config = {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_cloudlab": True},
            "allow_unauthenticated_access": False,
        },
        "CloudLab": {"mode": "sandbox", "data_dir": str(cloudlab_data_dir)},
    }

    # When it starts with CloudLab's routes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = jp_configurable_serverapp(config=config)
    lines = server_log.warnings + [str(w.message) for w in caught]

    # Then our routes are served, and nothing warned or logged about their authentication
    served = _patterns(app.web_app.default_router)
    assert any("/cloudlab/api/machines" in pattern for pattern in served), served
    assert _auth_complaints(lines) == []

    # And the check can fail: an undecorated cloudlab route added the same way is complained of
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app.web_app.add_handlers(".*$", [(r"/cloudlab/api/undecorated", _Undecorated)])
    assert _auth_complaints([str(w.message) for w in caught]) != []


def _secrets(data_dir: Path, instance_id: str) -> list[str]:
    """The machine's server token and every line of our SSH private key."""
    home = data_dir / "sandbox" / "machines" / instance_id / "home" / "ubuntu"
    token = (home / ".cloudlab" / "token").read_text().strip()
    key_lines = (data_dir / "id_ed25519").read_text().strip().splitlines()
    body = [line for line in key_lines if not line.startswith("-----")]
    assert len(token) >= 16 and body, "the secrets to look for must be real"
    return [token, *body]


async def test_no_secret_in_replies_or_log(
    server_log: _Records, cloudlab_backend: Any, cloudlab_data_dir: Path, jp_fetch: Any
) -> None:
    # Given a ready machine, whose machine server token and our private key exist on disk
    machine = await launch_ready(jp_fetch, name="secret-box")
    secrets = _secrets(cloudlab_data_dir, machine["instance_id"])

    # When everything the API offers is read
    bodies = []
    for path in (
        ("status",),
        ("catalog", "instance-types"),
        ("catalog", "images"),
        ("machines",),
        ("machines", machine["id"]),
    ):
        status, text = await api_reply(jp_fetch, *API, *path)
        assert status == 200, (path, text)
        bodies.append(text)

    # Then no reply and no log line carries either secret (the log did record this machine)
    assert machine["id"] in bodies[-1]
    assert [line for line in server_log.lines if "secret-box" in line]
    for secret in secrets:
        assert not [b for b in bodies if secret in b], "a reply leaks a secret"
        assert not [line for line in server_log.lines if secret in line], "the log leaks one"
