"""The REST API's OpenAPI document: valid OpenAPI 3.1, and exactly what the generator makes of
the routes and the pydantic models (one source; src/api_types.ts follows it, checked by Jest)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from pydantic import BaseModel

from jupyter_cloudlab import models
from jupyter_cloudlab.handlers import openapi


def _shipped() -> str:
    return resources.files("jupyter_cloudlab").joinpath("openapi.yaml").read_text()


def test_the_shipped_document_is_the_generated_one() -> None:
    # Given the document in the package; When the generator runs on today's routes and models
    generated = openapi.render()
    # Then they are the same text
    assert _shipped() == generated, (
        f"jupyter_cloudlab/openapi.yaml is stale: run `{openapi.REGENERATE}` and commit both files."
    )


def test_the_document_is_valid_openapi_3_1() -> None:
    # Given the shipped document
    document = yaml.safe_load(_shipped())
    # When it is validated; Then it is OpenAPI 3.1 and nothing is wrong with it
    assert document["openapi"].startswith("3.1")
    validate(document)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_every_body_is_a_model_and_every_reference_resolves() -> None:
    # Given the generated document
    document = openapi.build()
    schemas = document["components"]["schemas"]
    # Then each schema is one of the pydantic models or enums (the models package's), under its
    # class name
    assert set(schemas) <= {
        name
        for name, value in vars(models).items()
        if isinstance(value, type) and value.__module__.startswith(f"{models.__name__}.")
    }
    # And every $ref points at something the document defines
    defined = {f"#/components/schemas/{name}" for name in schemas} | {
        f"#/components/responses/{name}" for name in document["components"]["responses"]
    }
    assert _refs(document) <= defined


def test_a_reply_requires_every_field_and_a_request_only_those_without_default() -> None:
    # Given a reply model and a request model that both have defaulted fields
    schemas = openapi.build()["components"]["schemas"]
    # Then the reply requires all (the server always sends them); the request not the defaulted
    assert set(schemas["Machine"]["required"]) == set(models.Machine.model_fields)
    assert set(schemas["LaunchRequest"]["required"]) == {"instance_type", "image_id"}


class _Unserved(BaseModel):
    pass


def test_a_route_without_words_or_words_without_a_route_stop_the_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the operations table missing one served route and naming one that is not served
    operations = dict(openapi.OPERATIONS)
    del operations[("get", "/machines/{machine_id}/connection")]
    operations[("get", "/nowhere")] = openapi.Operation("Not served.", _Unserved)
    monkeypatch.setattr(openapi, "OPERATIONS", operations)
    # When the document is built; Then the generator says which are missing and extra
    with pytest.raises(SystemExit) as stopped:
        openapi.build()
    assert "/machines/{machine_id}/connection" in str(stopped.value)
    assert "/nowhere" in str(stopped.value)
