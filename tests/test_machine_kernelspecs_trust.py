"""A compromised machine's kernelspecs gain no script rights in the local origin, and its listing
is bounded: only logos are served, as images with ``nosniff`` and a sandboxing CSP, by the
extension's own handler (not jupyter_server's, which types by extension); names, display names,
the count of specs and the listing's size are checked.

"The machine" here is a small tornado app on loopback that answers as a hostile machine server
would; the local server is pytest-jupyter's with the CloudLab extension on (sandbox mode, its
backend not started: only its routes and kernel classes are used).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient

from jupyter_cloudlab.handlers.kernelspec_logos import LOGO_CSP
from jupyter_cloudlab.kernels.machine_servers import MachineServer, MachineServerRegistry
from jupyter_cloudlab.kernels.server_client import (
    MAX_KERNELSPECS,
    MAX_LOGO_BYTES,
    MAX_SPEC_LISTING_BYTES,
)
from jupyter_cloudlab.kernels.specs import MAX_DISPLAY_NAME_CHARS

MACHINE_ID = "m-hostile"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG = (
    b'<?xml version="1.0"?>\n<!-- a logo -->\n<svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>fetch('/api/contents').then(r => r.text()).then(alert)</script></svg>"
)
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
FILES = {
    "logo-64x64.png": PNG,
    "logo-svg.svg": SVG,
    "logo-32x32.png": HTML,  # named as a logo, but a page
    "kernel.js": b"alert(document.cookie)",
    "evil.html": HTML,
    "kernel.json": b'{"argv": []}',
}


def spec_model(name: str, display_name: Any = "Python 3") -> dict[str, Any]:
    return {
        "name": name,
        "spec": {"display_name": display_name, "language": "python", "argv": ["python"]},
        "resources": {
            **{f.rsplit(".", 1)[0]: f"/kernelspecs/{name}/{f}" for f in FILES},
            "evil": f"/kernelspecs/{name}/evil.html",
        },
    }


class HostileMachine:
    """What the machine server answers: the listing and the resource files, as a test sets them."""

    def __init__(self) -> None:
        self.listing: bytes = b""
        self.files = dict(FILES)
        self.set_specs({"python3": spec_model("python3")})

    def set_specs(self, specs: dict[str, Any]) -> None:
        self.listing = json.dumps({"default": "python3", "kernelspecs": specs}).encode()


class _Listing(web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(self.settings["machine"].listing)


class _Resource(web.RequestHandler):
    def get(self, name: str, path: str) -> None:
        data = self.settings["machine"].files.get(path)
        if data is None:
            raise web.HTTPError(404)
        self.finish(data)


@pytest.fixture
def jp_server_config(cloudlab_data_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": True}},
        "CloudLab": {"mode": "sandbox", "data_dir": str(cloudlab_data_dir)},
    }


@pytest.fixture
async def machine(jp_serverapp: Any) -> AsyncIterator[HostileMachine]:
    hostile = HostileMachine()
    app = web.Application(
        [
            (r"/api/kernelspecs", _Listing),
            (r"/kernelspecs/([^/]+)/(.*)", _Resource),
        ],
        machine=hostile,
    )
    server = app.listen(0, "127.0.0.1")
    port = next(iter(server._sockets.values())).getsockname()[1]
    registry: MachineServerRegistry = jp_serverapp.kernel_spec_manager.machine_servers
    registry.add(MachineServer(MACHINE_ID, "box", f"http://127.0.0.1:{port}", "t0k3n", "t3.small"))
    yield hostile
    registry.remove(MACHINE_ID)
    server.stop()


async def listing(jp_fetch: Any) -> dict[str, Any]:
    specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
    return {name: model for name, model in specs.items() if name.startswith("cloudlab.")}


async def get(jp_fetch: Any, name: str, path: str) -> Any:
    return await jp_fetch("kernelspecs", name, *path.split("/"), raise_error=False)


async def test_only_logos_are_served_as_inert_images(
    jp_fetch: Any, machine: HostileMachine
) -> None:
    # Given a machine whose kernelspec lists a script, a page, and a page named as a PNG logo
    name = f"cloudlab.{MACHINE_ID}.python3"

    # When the launcher lists kernelspecs, Then only the logos are listed, under our routes
    resources = (await listing(jp_fetch))[name]["resources"]
    assert sorted(resources) == ["logo-32x32", "logo-64x64", "logo-svg"]
    assert resources["logo-64x64"].endswith(f"/kernelspecs/{name}/logo-64x64.png")

    # And a logo is served as an image, that no browser sniffs into a page, by our handler (its
    # CSP, not jupyter_server's, which would type the file by its extension)
    png = await get(jp_fetch, name, "logo-64x64.png")
    assert png.code == 200 and png.body == PNG
    assert png.headers["Content-Type"] == "image/png"
    assert png.headers["X-Content-Type-Options"] == "nosniff"
    assert png.headers["Content-Security-Policy"] == LOGO_CSP
    # And an SVG, whose script must not run when it is opened on its own: sandboxed
    svg = await get(jp_fetch, name, "logo-svg.svg")
    assert svg.code == 200 and svg.headers["Content-Type"] == "image/svg+xml"
    assert svg.headers["Content-Security-Policy"] == LOGO_CSP
    assert svg.headers["X-Content-Type-Options"] == "nosniff"

    # And nothing else of the machine's is served: not a page, a script, a page named as a PNG,
    # the kernel.json, nor a file below the spec's folder
    for path in ("evil.html", "kernel.js", "logo-32x32.png", "kernel.json", "x/evil.html"):
        reply = await get(jp_fetch, name, path)
        assert reply.code == 404, path
        assert json.loads(reply.body)["message"], path  # a sentence, as every route answers
        assert HTML not in reply.body and b"alert" not in reply.body, path
        assert reply.headers["Content-Security-Policy"] == LOGO_CSP, path


async def test_a_logo_past_the_size_bound_is_refused(
    jp_fetch: Any, machine: HostileMachine
) -> None:
    # Given a machine whose PNG logo is larger than any logo needs to be
    name = f"cloudlab.{MACHINE_ID}.python3"
    machine.files["logo-64x64.png"] = PNG + b"\x00" * MAX_LOGO_BYTES
    await listing(jp_fetch)

    # When it is asked for, Then it is not served
    assert (await get(jp_fetch, name, "logo-64x64.png")).code == 404


async def test_names_display_names_and_the_count_of_specs_are_checked(
    jp_fetch: Any, machine: HostileMachine, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a machine listing more specs than anyone has, some under names a URL can't hold
    # safely, one with a display name that is long and spans lines, one whose name is not text
    many = {f"env-{i:03d}": spec_model(f"env-{i:03d}") for i in range(MAX_KERNELSPECS + 10)}
    odd = {n: spec_model(n) for n in ("..", "../up", "a b", "x" * 65, "-dash", "é")}
    long_name = "Python 3\n<img src=x onerror=alert(1)>" + "!" * 500
    many["env-000"] = spec_model("env-000", display_name=long_name)
    many["env-001"] = spec_model("env-001", display_name={"not": "text"})
    machine.set_specs({**many, **odd})

    # When the launcher lists kernelspecs
    specs = await listing(jp_fetch)

    # Then the machine's specs with unsafe names are left out, and at most the bound is kept
    remote_names = {name.split(".", 2)[2] for name in specs}
    assert not remote_names & set(odd)
    assert len(specs) == MAX_KERNELSPECS
    assert remote_names == {f"env-{i:03d}" for i in range(MAX_KERNELSPECS)}
    # And display names are one line of bounded length (the machine's part of it)
    display = specs[f"cloudlab.{MACHINE_ID}.env-000"]["spec"]["display_name"]
    assert "\n" not in display and display.endswith(" · box · t3.small")
    assert len(display.split(" · ")[0]) <= MAX_DISPLAY_NAME_CHARS
    assert specs[f"cloudlab.{MACHINE_ID}.env-001"]["spec"]["display_name"].startswith("env-001 · ")
    # And the log says what was left out
    assert f"Machine {MACHINE_ID} lists {MAX_KERNELSPECS + 10} kernelspecs" in caplog.text
    assert f"Machine {MACHINE_ID}: {len(odd)} kernelspec(s) left out" in caplog.text


async def test_a_listing_past_the_size_bound_contributes_nothing(
    jp_fetch: Any, machine: HostileMachine, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a machine whose kernelspec listing is larger than any honest one
    padding = "x" * MAX_SPEC_LISTING_BYTES
    machine.set_specs({"python3": {**spec_model("python3"), "padding": padding}})

    # When the launcher lists kernelspecs, Then the machine's are left out, with a sentence why
    assert await listing(jp_fetch) == {}
    assert "reply passed 1 MiB" in caplog.text
    # And the local ones are still there
    assert "python3" in json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_a_logo_needs_the_servers_token(
    jp_fetch: Any, jp_http_port: int, jp_base_url: str, machine: HostileMachine, method: str
) -> None:
    # Given a machine logo the launcher can load
    name = f"cloudlab.{MACHINE_ID}.python3"
    await listing(jp_fetch)
    assert (await get(jp_fetch, name, "logo-64x64.png")).code == 200

    # When it is asked for without the server's token, Then it is refused
    url = f"http://127.0.0.1:{jp_http_port}" + url_path_join(
        jp_base_url, "kernelspecs", name, "logo-64x64.png"
    )
    reply = await AsyncHTTPClient().fetch(
        url, method=method, raise_error=False, follow_redirects=False
    )
    assert reply.code == 403, reply.code
    assert PNG not in reply.body
