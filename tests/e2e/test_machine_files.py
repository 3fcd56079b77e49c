"""The machine's files through the local server's proxy (JupyterLab's Drive speaks this API): the
real machine server behind a real OpenSSH tunnel, its files on this host's sandbox disk."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from tests.helpers.rest_api import launch_ready

ONE_MIB = 1024 * 1024
# JupyterLab's chunked upload: 1 MiB per PUT, numbered from 1, the last one -1.
UPLOAD_CHUNK = ONE_MIB
ONE_GIB_CHUNKS = 1024


class MachineServerProxy:
    """Raw requests to ``/cloudlab/machines/<id>/server/...`` (the path is sent as written)."""

    def __init__(self, port: int, base_url: str, machine_id: str, auth: dict[str, str]) -> None:
        self.root = (
            f"http://127.0.0.1:{port}{base_url.rstrip('/')}/cloudlab/machines/{machine_id}/server/"
        )
        self.auth = auth

    async def fetch(
        self,
        path: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> HTTPResponse:
        data = json.dumps(body) if body is not None and not isinstance(body, bytes) else body
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        return await AsyncHTTPClient().fetch(
            self.root + path,
            method=method,
            body=data,
            headers={**self.auth, **(headers or {})},
            raise_error=False,
            allow_nonstandard_methods=True,
            request_timeout=timeout,
        )

    async def json(self, path: str, method: str = "GET", body: Any = None) -> Any:
        reply = await self.fetch(path, method, body)
        assert reply.code < 300, (method, path, reply.code, reply.body[:500])
        return json.loads(reply.body) if reply.body else None


def _home(data_dir: Path, machine: dict[str, Any]) -> Path:
    return data_dir / "sandbox" / "machines" / machine["instance_id"] / "home" / "ubuntu"


async def _ready_proxy(
    jp_fetch: Any, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str], name: str
) -> tuple[dict[str, Any], MachineServerProxy]:
    machine = await launch_ready(jp_fetch, name=name)
    return machine, MachineServerProxy(jp_http_port, jp_base_url, machine["id"], jp_auth_header)


async def test_contents_list_get_put_rename_delete_through_the_proxy(
    cloudlab_backend: Any,
    cloudlab_data_dir: Path,
    jp_fetch: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    # Given a ready machine with a file in its home
    machine, proxy = await _ready_proxy(
        jp_fetch, jp_http_port, jp_base_url, jp_auth_header, "files-box"
    )
    home = _home(cloudlab_data_dir, machine)
    (home / "hello.txt").write_text("hello from the machine\n")

    # When its root is listed through the proxy; Then the file is there, and the reply is JSON
    reply = await proxy.fetch("api/contents")
    assert reply.code == 200, reply.body
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    names = {item["name"] for item in json.loads(reply.body)["content"]}
    assert "hello.txt" in names

    # And a file is read, written, renamed and deleted with the contents API, on the machine
    model = await proxy.json("api/contents/hello.txt?content=1&format=text&type=file")
    assert model["content"] == "hello from the machine\n"
    await proxy.json("api/contents/dir", "PUT", {"type": "directory"})
    await proxy.json(
        "api/contents/dir/new.txt", "PUT", {"type": "file", "format": "text", "content": "abc"}
    )
    assert (home / "dir" / "new.txt").read_text() == "abc"
    await proxy.json("api/contents/dir/new.txt/checkpoints", "POST")
    assert len(await proxy.json("api/contents/dir/new.txt/checkpoints")) == 1
    await proxy.json("api/contents/dir/new.txt", "PATCH", {"path": "dir/renamed.txt"})
    assert (home / "dir" / "renamed.txt").read_text() == "abc"
    assert not (home / "dir" / "new.txt").exists()
    deleted = await proxy.fetch("api/contents/dir/renamed.txt", "DELETE")
    assert deleted.code == 204
    assert not (home / "dir" / "renamed.txt").exists()

    # And the browser's cookie and XSRF token are not what authenticates there (ours: the token)
    reply = await proxy.fetch("api/contents", headers={"Cookie": "_xsrf=x", "X-XSRFToken": "x"})
    assert reply.code == 200

    # And a file with a name that needs quoting works too
    await proxy.json(
        "api/contents/a%20b%23c.txt", "PUT", {"type": "file", "format": "text", "content": "q"}
    )
    assert (home / "a b#c.txt").read_text() == "q"

    # When a download is asked for an HTML file and an SVG (they could run script here)
    (home / "page.html").write_text("<script>alert(document.cookie)</script>")
    (home / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>')
    (home / "notes.txt").write_text("plain")
    # Then they come back as inert attachments, with nosniff and a sandboxing CSP
    for name in ("page.html", "logo.svg"):
        reply = await proxy.fetch(f"files/{name}")
        assert reply.code == 200, reply.body
        assert reply.headers["Content-Type"] == "application/octet-stream", name
        assert reply.headers["Content-Disposition"].startswith("attachment"), name
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Content-Security-Policy"].startswith("sandbox")
        assert reply.body == (home / name).read_bytes()
    # And plain text keeps an inert type of its own
    reply = await proxy.fetch("files/notes.txt")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.body == b"plain"

    # And no reply carries the machine server's token
    token = (home / ".cloudlab" / "token").read_text().strip()
    assert token not in json.dumps(dict(reply.headers)) and token.encode() not in reply.body


async def test_paths_that_leave_the_machine_folder_are_refused(
    cloudlab_backend: Any,
    cloudlab_data_dir: Path,
    jp_fetch: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    # Given a ready machine
    machine, proxy = await _ready_proxy(
        jp_fetch, jp_http_port, jp_base_url, jp_auth_header, "escape-box"
    )
    escapes = [
        "api/contents/../../etc/passwd",
        "api/contents/%2e%2e/%2e%2e/etc/passwd",
        "api/contents/dir/%2E%2E/%2E%2E/x",
        "api/contents/%252e%252e/x",
        "api/contents//etc/passwd",
        "api/contents/a%00b",
        "api/contents/..%5c..%5cetc",
        "api/contents/./x",
        "files/../../etc/passwd",
        "files/%2e%2e/secret",
    ]
    # When each is asked for; Then it is refused with a sentence, before reaching the machine
    for path in escapes:
        reply = await proxy.fetch(path)
        assert reply.code == 400, (path, reply.code, reply.body[:300])
        assert json.loads(reply.body)["message"], path

    # And a rename or copy naming a path outside is refused too
    home = _home(cloudlab_data_dir, machine)
    (home / "mine.txt").write_text("x")
    for body in ({"path": "../outside.txt"}, {"path": "/../outside.txt"}):
        reply = await proxy.fetch("api/contents/mine.txt", "PATCH", body)
        assert reply.code == 400, (body, reply.body)
    reply = await proxy.fetch("api/contents", "POST", {"copy_from": "../../etc/passwd"})
    assert reply.code == 400
    assert (home / "mine.txt").exists()

    # And the routes the proxy does not offer are not found (only contents, files, terminals)
    for path in ("api/kernels", "api/sessions", "api/kernelspecs", "login", "tree/"):
        reply = await proxy.fetch(path)
        assert reply.code == 404, (path, reply.code)


async def test_chunked_upload_of_one_gigabyte(
    cloudlab_backend: Any,
    cloudlab_data_dir: Path,
    jp_fetch: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    # Given a ready machine
    machine, proxy = await _ready_proxy(
        jp_fetch, jp_http_port, jp_base_url, jp_auth_header, "upload-box"
    )
    digest = hashlib.sha256()
    block = os.urandom(UPLOAD_CHUNK)

    # When 1 GiB is uploaded as JupyterLab's file browser does it: 1 MiB chunks, the last -1
    started = time.monotonic()
    for number in range(1, ONE_GIB_CHUNKS + 1):
        chunk = block[number % 251 :] + block[: number % 251]  # a different chunk each time
        digest.update(chunk)
        reply = await proxy.fetch(
            "api/contents/big.bin",
            "PUT",
            {
                "type": "file",
                "format": "base64",
                "name": "big.bin",
                "path": "big.bin",
                "chunk": -1 if number == ONE_GIB_CHUNKS else number,
                "content": base64.b64encode(chunk).decode(),
            },
        )
        assert reply.code in (200, 201), (number, reply.body[:300])
    seconds = time.monotonic() - started
    print(f"1 GiB chunked upload through the machine proxy: {seconds:.1f} s")

    # Then the machine's file has every byte, in order
    path = _home(cloudlab_data_dir, machine) / "big.bin"
    assert path.stat().st_size == ONE_GIB_CHUNKS * UPLOAD_CHUNK
    on_machine = hashlib.sha256()
    with path.open("rb") as f:
        while data := f.read(8 * ONE_MIB):
            on_machine.update(data)
    assert on_machine.hexdigest() == digest.hexdigest()
    model = await proxy.json("api/contents/big.bin?content=0")
    assert model["size"] == ONE_GIB_CHUNKS * UPLOAD_CHUNK

    path.unlink()

    # And a big file streams back down whole (128 MiB: the machine server's own files handler
    # reads a file whole into its memory, so 1 GiB there would cost this host gigabytes)
    down_file = _home(cloudlab_data_dir, machine) / "down.bin"
    with down_file.open("wb") as f:
        for _ in range(128):
            f.write(block)
    down = hashlib.sha256()
    size = 0

    def part(data: bytes) -> None:
        nonlocal size
        size += len(data)
        down.update(data)

    client = AsyncHTTPClient(force_instance=True, max_body_size=1024 * ONE_MIB)
    try:
        reply = await client.fetch(
            proxy.root + "files/down.bin?download=1",
            headers=proxy.auth,
            streaming_callback=part,
            request_timeout=300,
        )
    finally:
        client.close()
    assert reply.code == 200
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.headers["Content-Disposition"].startswith("attachment")
    assert size == 128 * ONE_MIB
    assert down.hexdigest() == hashlib.sha256(block * 128).hexdigest()
