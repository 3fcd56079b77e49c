"""Every route of the OpenAPI document, fuzzed by schemathesis against the sandbox server: no 5xx,
no traceback, every reply valid against the document (status, content type, schema), schema-
violating input refused and schema-valid input accepted. Bounded: a fixed seed, a few examples
per operation, at most LAUNCHES fuzzed launches; all it made is terminated and checked gone.

Three runs of `schemathesis run` (a child process, so the server's loop keeps serving):
- everything, positive and negative, identifiers drawn at random (so mostly 404s);
- the operations on one machine, pinned to a ready machine launched first (real stop, start
  and reboot, in whatever order the fuzzer draws; terminate comes last, for every machine);
- launches with fuzzed bodies whose image and instance type come from the sandbox's catalog.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jupyter_server.utils import url_path_join

from tests.helpers.host_processes import processes_with
from tests.helpers.rest_api import (
    API,
    READY_TIMEOUT,
    TRACEBACK_MARKERS,
    api_json,
    api_reply,
    launch_ready,
)
from tests.helpers.sandbox_ec2 import cloud_resources, moto_client

EXAMPLES = 50
"""Hypothesis examples per operation and run (the coverage phase adds its own, bounded, cases)."""
LAUNCHES = 3
"""At most this many launches with fuzzed bodies reach EC2 (one run of that many examples)."""
SEED = 20261203
RUN_TIMEOUT = 240
SETTLING: tuple[str, ...] = ("requesting", "pending", "connecting", "bootstrapping", "stopping")
SETTLING += ("starting", "rebooting", "terminating")

# Why each tuning of schemathesis's checks is right for this API:
# - A request without the token gets 403 (jupyter_server's answer on every route, checked by
#   test_auth.py); schemathesis's missing-header check wants 401 for a missing Authorization
#   header, and this document has no other required header.
# - A launch, a resize or an account choice may be well-formed yet name what the account lacks
#   (an instance type, an image, a profile): a 400 sentence, since the catalog is not in the
#   schema.
BASE_CONFIG = f"""\
seed = {SEED}
workers = 1
[generation]
max-examples = {EXAMPLES}
[[operations]]
include-operation-id = ["post_machines", "post_machines_machine_id_resize", "put_account"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"""


class _Records(logging.Handler):
    """Every log record of this process (the server's, the sandbox's), with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        found = []
        for record in self.records:
            text = record.getMessage()
            if record.exc_info or any(marker in text for marker in TRACEBACK_MARKERS):
                found.append(f"{record.name} {record.levelname} {text[:2000]}")
        return found


@pytest.fixture
def server_log() -> Iterator[_Records]:
    records = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(records)
    root.setLevel(level)


class Fuzzer:
    """`schemathesis run` on the shipped document against this test's server."""

    def __init__(self, url: str, token: str, folder: Path) -> None:
        self.url, self.token, self.folder = url, token, folder
        self.entries: list[dict[str, Any]] = []
        self.runs: list[tuple[str, int, float, Counter[int]]] = []

    async def run(self, name: str, config: str, *args: str) -> str:
        """Run it (`config`: schemathesis.toml text, `args`: more CLI options); its output."""
        folder = self.folder / name
        folder.mkdir()
        (folder / "schemathesis.toml").write_text(config)
        har = folder / "requests.har"
        spec = resources.files("jupyter_cloudlab").joinpath("openapi.yaml")
        command = [
            *(sys.executable, "-m", "schemathesis.cli", "--no-color"),
            *("--config-file", str(folder / "schemathesis.toml"), "run", str(spec)),
            *("--url", self.url, "-H", f"Authorization: token {self.token}"),
            *("--checks", "all", "--exclude-checks", "missing_required_header"),
            *("--report", "har", "--report-har-path", str(har)),
            *args,
        ]
        loop = asyncio.get_running_loop()
        started = loop.time()
        with (folder / "output.txt").open("w") as output:
            process = await asyncio.create_subprocess_exec(
                *command, cwd=folder, stdout=output, stderr=asyncio.subprocess.STDOUT
            )
            try:
                code = await asyncio.wait_for(process.wait(), RUN_TIMEOUT)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()
                code = -1
        text = (folder / "output.txt").read_text()
        entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
        self.entries += entries
        statuses = Counter(int(e["response"]["status"]) for e in entries)
        self.runs.append((name, len(entries), loop.time() - started, statuses))
        assert code == 0, f"schemathesis run {name!r} failed ({code}):\n{text[-12000:]}"
        return text

    def report(self) -> str:
        lines = [
            f"{name}: {count} requests in {seconds:.0f} s, statuses {dict(sorted(statuses.items()))}"
            for name, count, seconds, statuses in self.runs
        ]
        total = Counter(int(e["response"]["status"]) for e in self.entries)
        operations = {(e["request"]["method"], _route(e["request"]["url"])) for e in self.entries}
        lines.append(
            f"all: {len(self.entries)} requests, {len(operations & _documented())} of "
            f"{len(_documented())} documented operations reached, "
            f"statuses {dict(sorted(total.items()))}"
        )
        return "\n".join(lines)


def _route(url: str) -> str:
    path = url.split("/cloudlab/api", 1)[1].split("?", 1)[0]
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "machines":
        parts[2] = "{machine_id}"
    return "/".join(parts)


def _documented() -> set[tuple[str, str]]:
    """(METHOD, path) of every operation of the shipped document."""
    spec = yaml.safe_load(resources.files("jupyter_cloudlab").joinpath("openapi.yaml").read_text())
    verbs = ("get", "put", "post", "delete", "patch")
    return {(v.upper(), path) for path, item in spec["paths"].items() for v in item if v in verbs}


def _dictionary(name: str, values: list[str]) -> str:
    return f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n"


async def _machines(jp_fetch: Any) -> list[dict[str, Any]]:
    return list((await api_json(jp_fetch, *API, "machines"))["machines"])


async def _settle(jp_fetch: Any, wanted: tuple[str, ...] = SETTLING) -> list[dict[str, Any]]:
    """The machines once none is in one of the `wanted` states any more."""
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while True:
        machines = await _machines(jp_fetch)
        moving = [(m["id"], m["state"]) for m in machines if m["state"] in wanted]
        if not moving:
            return machines
        assert asyncio.get_running_loop().time() < deadline, f"still moving: {moving}"
        await asyncio.sleep(0.5)


async def _terminate_all(jp_fetch: Any) -> list[dict[str, Any]]:
    """Terminate every machine the API lists, once none is moving; what it lists then (a
    terminated machine leaves the list)."""
    settled = await _settle(jp_fetch)
    print("before terminating:", [(m["id"], m["state"], m["message"]) for m in settled])
    for machine in settled:
        if machine["state"] != "terminated":
            status, text = await api_reply(
                jp_fetch, *API, "machines", machine["id"], method="DELETE"
            )
            assert status == 202, (machine["id"], machine["state"], status, text)
    return await _settle(jp_fetch, (*SETTLING, "ready", "stopped", "failed"))


async def test_every_route_fuzzed_from_the_document(
    cloudlab_backend: Any,
    cloudlab_data_dir: Path,
    jp_fetch: Any,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    server_log: _Records,
    tmp_path: Path,
) -> None:
    # Given the sandbox server, reached like any HTTP client reaches it, with its token
    url = f"http://127.0.0.1:{jp_http_port}" + url_path_join(jp_base_url, *API)
    fuzzer = Fuzzer(url, jp_serverapp.identity_provider.token, tmp_path)

    # When every operation is fuzzed, positive and negative, with identifiers drawn at random
    await fuzzer.run("all", BASE_CONFIG)

    # And the operations on one machine are fuzzed on a ready machine
    target = await launch_ready(jp_fetch, name="fuzz-target")
    await fuzzer.run(
        "one-machine",
        BASE_CONFIG
        + '[[operations]]\ninclude-path-regex = "^/machines/\\\\{machine_id\\\\}"\n'
        + f'parameters = {{ "path.machine_id" = "{target["id"]}" }}\n',
        *("--include-path-regex", "^/machines/\\{machine_id\\}", "--exclude-method", "DELETE"),
        *("--mode", "positive"),
    )

    # And launches are fuzzed with what the sandbox's catalog holds, LAUNCHES at most
    images = [i["id"] for i in (await api_json(jp_fetch, *API, "catalog", "images"))["images"]]
    types = ["t3.medium", "g5.xlarge"]
    await fuzzer.run(
        "launch",
        BASE_CONFIG.replace(f"max-examples = {EXAMPLES}", f"max-examples = {LAUNCHES}")
        + _dictionary("images", images)
        + _dictionary("types", types)
        + '[[operations]]\ninclude-operation-id = "post_machines"\n'
        + '[operations.parameters."body.image_id"]\ndictionary = "images"\n'
        + '[operations.parameters."body.instance_type"]\ndictionary = "types"\n',
        *("--include-operation-id", "post_machines", "--mode", "positive"),
        *("--phases", "fuzzing", "--no-shrink"),
    )
    print(fuzzer.report())

    # Then schemathesis found nothing (each run asserted it), no reply was a 5xx or carried a
    # traceback, and the server logged no traceback
    statuses = Counter(int(e["response"]["status"]) for e in fuzzer.entries)
    assert not [code for code in statuses if code >= 500], fuzzer.report()
    for entry in fuzzer.entries:
        text = entry["response"].get("content", {}).get("text", "")
        assert not [m for m in TRACEBACK_MARKERS if m in text], (entry["request"]["url"], text)
    assert server_log.tracebacks() == []

    # And every documented operation was reached, and some launches were accepted
    reached = {(e["request"]["method"], _route(e["request"]["url"])) for e in fuzzer.entries}
    assert _documented() <= reached, sorted(_documented() - reached)
    launched = [m for m in await _machines(jp_fetch) if m["id"] != target["id"]]
    assert 1 <= len(launched) <= LAUNCHES, launched

    # When everything is terminated
    machines = await _terminate_all(jp_fetch)

    # Then nothing is left: no machine listed, every instance terminated, no machine process
    assert machines == []
    reservations = moto_client(cloudlab_backend).describe_instances()["Reservations"]
    instances = {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r["Instances"]}
    assert len(instances) > len(launched) and set(instances.values()) == {"terminated"}, instances
    assert cloud_resources(cloudlab_backend)["security_groups"] == []
    assert cloud_resources(cloudlab_backend)["key_pairs"] == []
    await _no_machine_processes(cloudlab_data_dir / "sandbox" / "machines")


async def _no_machine_processes(machines_dir: Path) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while left := processes_with(str(machines_dir)):
        assert asyncio.get_running_loop().time() < deadline, f"left running: {left}"
        await asyncio.sleep(0.5)
