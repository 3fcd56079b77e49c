"""The OpenAPI document of the REST API, built from its two sources: the routes (`api_routes`)
and the pydantic bodies (`models/`). The words of each operation are here.

`jupyter_cloudlab/openapi.yaml` is this module's output, committed and shipped; tests fail when
they differ (tests/test_openapi.py). After changing a route or a body:

    python -m jupyter_cloudlab.handlers.openapi     # writes openapi.yaml
    jlpm build:api-types                            # writes src/api_types.ts from it
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema
from tornado import web

from .. import models
from . import API_PREFIX, api_routes

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
REGENERATE = "python -m jupyter_cloudlab.handlers.openapi && jlpm build:api-types"
API_VERSION = "0.1.0"
VERBS = ("get", "put", "post", "delete", "patch")
SCHEMAS = "#/components/schemas/{model}"
GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^)]*)\)")
LITERALS = re.compile(r"^[\w-]+(\|[\w-]+)*$")

HEADER = f"""\
# GENERATED: do not edit. The source is jupyter_cloudlab/handlers/openapi.py (routes and their
# words) and jupyter_cloudlab/models/ (bodies); regenerate with
#   {REGENERATE}
"""

DESCRIPTION = """\
Served by the jupyter_cloudlab server extension under the Jupyter server's base URL.
Every operation needs the Jupyter server's authentication (token header, or cookie and XSRF).
Errors are JSON `{"message": "...", "reason": "..."}` with a 4xx/5xx status; `message` is a plain
sentence that says what to do.
"""

# Every operation can answer these: no or a wrong Jupyter token (403; 401 when the AWS
# credentials are missing or expired), and 503 while no account session is open.
COMMON_ERRORS = (401, 403, 503)
ERROR_WORDS = {
    400: "The request is wrong; the message names what to fix.",
    401: "AWS credentials are missing or expired.",
    403: "Not allowed: no Jupyter token, or AWS (IAM, an account quota) refused.",
    404: "No such machine (or instance, image).",
    409: "The machine's state does not allow this now; the message says which state it is in.",
    502: "Something on the machine or in AWS failed; the message says what.",
    503: "CloudLab is not running (yet), or AWS is unavailable: try again later.",
}


@dataclass(frozen=True)
class Operation:
    """One verb of one path: its words, bodies and statuses (errors beyond COMMON_ERRORS)."""

    summary: str
    reply: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    reply_words: str = ""
    description: str = ""
    query: tuple[tuple[str, dict[str, Any]], ...] = ()  # (name, JSON schema), none required


_MACHINE_ERRORS = (404, 409, 502)

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("get", "/status"): Operation(
        "Where machines are launched (sandbox or AWS) and in which region.",
        models.Status,
        reply_words="Backend status.",
    ),
    ("put", "/account"): Operation(
        "Use this AWS profile and region (JupyterLab's settings).",
        models.Status,
        body=models.AccountChoice,
        errors=(400, 404),
        reply_words="The status under the chosen account.",
        description="Null means the server's configuration. Machines are detached, never "
        "stopped, and found again by their tags; a region where a machine was seen stays "
        "watched. The sandbox keeps its one region.",
    ),
    ("get", "/catalog/instance-types"): Operation(
        "Instance types that can be launched, with GPU, memory and price.",
        models.InstanceTypeList,
        reply_words="The catalog.",
    ),
    ("get", "/catalog/images"): Operation(
        "Machine images (AMIs) offered for launch.", models.ImageList, reply_words="The images."
    ),
    ("get", "/machines"): Operation(
        "Every machine this extension manages.", models.MachineList, reply_words="The machines."
    ),
    ("post", "/machines"): Operation(
        "Launch a machine.",
        models.Machine,
        status=202,
        body=models.LaunchRequest,
        errors=(400, 404),
        reply_words="Launch accepted.",
        description="Returns at once; follow `state` until `ready`. The instance type and image "
        "are checked with EC2 first: bad input creates nothing.",
    ),
    ("get", "/machines/{machine_id}"): Operation(
        "One machine.", models.Machine, errors=(404,), reply_words="The machine."
    ),
    ("patch", "/machines/{machine_id}"): Operation(
        "Change a machine's settings: its workspace mirror.",
        models.Machine,
        body=models.MachineChange,
        errors=(400, 404),
        reply_words="The machine, changed.",
        description="`mirror: false` stops mirroring notebooks' folders to the machine: its "
        "kernels' next cells run without a push. Kernels started meanwhile work in the "
        "machine's home.",
    ),
    ("delete", "/machines/{machine_id}"): Operation(
        "Terminate the machine (its disk is deleted).",
        models.Machine,
        status=202,
        errors=_MACHINE_ERRORS,
        reply_words="Termination accepted.",
    ),
    ("post", "/machines/{machine_id}/stop"): Operation(
        "Stop the machine; compute billing ends, the disk stays.",
        models.Machine,
        status=202,
        errors=_MACHINE_ERRORS,
        reply_words="Stop accepted.",
    ),
    ("post", "/machines/{machine_id}/start"): Operation(
        "Start a stopped machine and reconnect to it.",
        models.Machine,
        status=202,
        errors=_MACHINE_ERRORS,
        reply_words="Start accepted.",
    ),
    ("post", "/machines/{machine_id}/reboot"): Operation(
        "Reboot a ready machine, then reconnect once it is back.",
        models.Machine,
        status=202,
        errors=_MACHINE_ERRORS,
        reply_words="Reboot accepted.",
        description="Its kernels end; notebooks stay on this computer.",
    ),
    ("get", "/machines/{machine_id}/connection"): Operation(
        "The machine's tunnel (up, down, gone, refused, detached), since when, and its kernels.",
        models.MachineConnection,
        errors=(404,),
        reply_words="The connection status (also sent as the connection event).",
    ),
    ("post", "/machines/{machine_id}/retry"): Operation(
        "Connect and bootstrap again a failed machine whose instance still runs.",
        models.Machine,
        status=202,
        errors=_MACHINE_ERRORS,
        reply_words="Retry accepted.",
    ),
    ("post", "/machines/{machine_id}/resize"): Operation(
        "Change a stopped machine's instance type.",
        models.Machine,
        body=models.ResizeRequest,
        errors=(400, *_MACHINE_ERRORS),
        reply_words="The machine, with its new type and price.",
        description="409 unless the machine is stopped; 400 for an unknown type or one whose "
        "architecture (x86_64, arm64) differs from the machine's image.",
    ),
    ("post", "/machines/{machine_id}/image"): Operation(
        "Save a stopped machine's disk as an image (AMI) of yours.",
        models.ImageModel,
        status=202,
        body=models.ImageRequest,
        errors=(400, *_MACHINE_ERRORS),
        reply_words="The image, pending until AWS has saved it; then offered for launch.",
        description="Tagged as this computer's (image and snapshots); its snapshots are billed "
        "while kept (see `storage_usd_per_month`); `jupyter cloudlab sweep` removes them.",
    ),
    ("post", "/machines/{machine_id}/dismiss"): Operation(
        "Remove the row of a machine terminated from outside (its reason read).",
        models.MachineList,
        errors=(404, 409),
        reply_words="The machines left.",
    ),
    ("get", "/machines/{machine_id}/log"): Operation(
        "The last lines of a running machine's server log.",
        models.MachineLog,
        errors=(400, 404, 409),
        description="Over SSH, as `jupyter cloudlab logs`; 409 unless its instance runs.",
        query=(("lines", {"type": "integer", "minimum": 1, "maximum": 5000, "default": 200}),),
    ),
    ("put", "/machines/{machine_id}/guard"): Operation(
        "Set a ready machine's idle limit, budget, keep-alive or stop after the running cell.",
        models.Machine,
        body=models.GuardChange,
        errors=(400, 404, 409, 503),
        reply_words="The machine, with what its guard now says (`idle`, `stop_at`).",
        description="Applied at once on the machine, kernels untouched; the machine enforces "
        "them itself, with this computer off. 409 unless the machine is ready; 503 when the "
        "machine did not take the change.",
    ),
}


class _Schema(GenerateJsonSchema):
    """pydantic's JSON Schema (OpenAPI 3.1 takes JSON Schema 2020-12 as it is), with two choices.

    A reply carries every field (`CloudLabHandler.reply` dumps them all), so in a reply every
    field is required, defaults or not (pydantic's `json_schema_serialization_defaults_required`,
    for every model); a request may leave out the fields that have a default. No `title` per
    property: its name says it.
    """

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return not field.get("serialization_exclude")
        return super().field_is_required(field, total)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _route_operations() -> list[tuple[str, str, type[web.RequestHandler]]]:
    """(verb, OpenAPI path under the API prefix, handler) of every route, in the table's order.

    A group of literal alternatives (`stop|start|reboot`) becomes one path per literal; any
    other named group becomes a path parameter. Routes outside the API prefix (the kernelspec
    logos served in place of jupyter_server's) are not this API's and are left out."""
    found = []
    prefix = f"/{API_PREFIX}"
    for pattern, handler in api_routes():
        if not pattern.startswith(prefix + "/"):
            continue
        paths = [pattern[len(prefix) :]]
        for group in GROUP.finditer(pattern):
            body = group["body"]
            values = body.split("|") if LITERALS.match(body) else ["{" + group["name"] + "}"]
            paths = [p.replace(group[0], v) for p in paths for v in values]
        verbs = [v for v in VERBS if getattr(handler, v) is not getattr(web.RequestHandler, v)]
        found += [(verb, path, handler) for path in paths for verb in verbs]
    return found


def _schemas() -> dict[str, Any]:
    """components/schemas: every body, requests as pydantic validates them, replies as it
    serializes them."""
    uses: dict[type[BaseModel], JsonSchemaMode] = {models.ErrorReply: "serialization"}
    for operation in OPERATIONS.values():
        uses[operation.reply] = "serialization"
        if operation.body is not None:
            uses[operation.body] = "validation"
    _, document = models_json_schema(
        [(model, mode) for model, mode in uses.items()],
        ref_template=SCHEMAS,
        schema_generator=_Schema,
    )
    schemas = document["$defs"]
    for schema in schemas.values():
        schema.pop("title", None)  # the model's name, which is already the key
    return dict(sorted(schemas.items()))


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": SCHEMAS.format(model=model.__name__)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(verb: str, path: str, operation: Operation) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": _operation_id(verb, path),
        "summary": operation.summary,
    }
    if operation.description:
        result["description"] = operation.description
    if operation.query:
        result["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in operation.query
        ]
    if operation.body is not None:
        # No body reads as `{}` (`CloudLabHandler.parse_body`): optional when `{}` is valid.
        required = any(f.is_required() for f in operation.body.model_fields.values())
        result["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": _ref(operation.body)}},
        }
    responses: dict[str, Any] = {
        str(operation.status): _json(_ref(operation.reply), operation.reply_words)
    }
    for code in sorted({*operation.errors, *COMMON_ERRORS}):
        responses[str(code)] = {"$ref": f"#/components/responses/Error{code}"}
    result["responses"] = responses
    return result


def _operation_id(verb: str, path: str) -> str:
    words = [w.strip("{}").replace("-", "_") for w in path.strip("/").split("/")]
    return "_".join([verb, *words])


def build() -> dict[str, Any]:
    """The OpenAPI 3.1 document, as a dict."""
    routes = _route_operations()
    served = {(verb, path) for verb, path, _ in routes}
    missing, extra = served - OPERATIONS.keys(), OPERATIONS.keys() - served
    if missing or extra:
        raise SystemExit(
            "handlers/openapi.py's OPERATIONS and api_routes() differ: "
            f"undocumented routes {sorted(missing)}, documented but not served {sorted(extra)}."
        )
    paths: dict[str, Any] = {}
    for verb, path, _ in routes:
        item = paths.setdefault(path, {})
        params = re.findall(r"\{(\w+)\}", path)
        if params and "parameters" not in item:
            item["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in params
            ]
        item[verb] = _operation(verb, path, OPERATIONS[(verb, path)])
    codes = sorted({c for o in OPERATIONS.values() for c in o.errors} | set(COMMON_ERRORS))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter_cloudlab REST API",
            "version": API_VERSION,
            "description": DESCRIPTION,
        },
        "servers": [{"url": f"/{API_PREFIX}"}],
        "security": [{"jupyterToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "jupyterToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`token <the Jupyter server's token>`. JupyterLab itself "
                    "sends the server's cookie and an X-XSRFToken header instead.",
                }
            },
            "responses": {
                f"Error{code}": _json(_ref(models.ErrorReply), ERROR_WORDS[code]) for code in codes
            },
            "schemas": _schemas(),
        },
    }


class _Dumper(yaml.SafeDumper):
    """Block style (`|`) for text of several lines."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _text)


def render() -> str:
    """The document as openapi.yaml holds it."""
    body = yaml.dump(build(), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    return HEADER + body


def main(argv: list[str]) -> int:
    """Write openapi.yaml (or, with --check, say whether it is current)."""
    text = render()
    if "--check" in argv:
        if SPEC_PATH.read_text() != text:
            print(f"{SPEC_PATH} is stale: run `{REGENERATE}`.", file=sys.stderr)
            return 1
        return 0
    SPEC_PATH.write_text(text)
    print(f"wrote {SPEC_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
