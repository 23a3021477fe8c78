"""Unknown fields in any request body of any service are a 422 that names them, never dropped.

Every operation of every OpenAPI document is walked: each JSON request-body schema (and every
object schema it reaches) must refuse additional properties, and a body with one extra field must
come back 422 `application/problem+json` with an error at that field. FHIR bodies are parsed by
the FHIR R4 models, which refuse unknown elements in the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.testclient import TestClient

from doseline.auth import Role
from doseline.manifest import ServiceManifest
from doseline.testing.plugin import TokenFactory

MISSPELT = "symtomatic"
FHIR_MEDIA = "application/fhir+json"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _operations(
    document: dict[str, Any],
) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            for media, content in body["content"].items():
                yield path, method, media, content.get("schema", {})


def _object_schemas(
    schema: dict[str, Any], components: dict[str, Any], seen: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named model schema reachable from `schema`."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen.add(name)
        model = components[name]
        yield name, model
        yield from _object_schemas(model, components, seen)
        return
    for key in ("properties", "$defs"):
        for child in schema.get(key, {}).values():
            yield from _object_schemas(child, components, seen)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for child in schema.get(key, []):
            yield from _object_schemas(child, components, seen)
    for key in ("items", "additionalProperties"):
        child = schema.get(key)
        if isinstance(child, dict):
            yield from _object_schemas(child, components, seen)


def test_every_request_body_model_of_every_service_refuses_unknown_fields(
    services: dict[str, ServiceManifest],
) -> None:
    permissive: list[str] = []
    checked = 0
    for name, manifest in services.items():
        document = manifest.create_app(manifest.settings_class()).openapi()
        components = document.get("components", {}).get("schemas", {})
        for path, method, media, schema in _operations(document):
            if media != "application/json" or "$ref" not in str(schema):
                continue
            for model_name, model in _object_schemas(schema, components, set()):
                checked += 1
                if model.get("type") == "object" and model.get("additionalProperties") is not False:
                    permissive.append(f"{name} {method.upper()} {path}: {model_name}")
    assert checked >= 40
    assert permissive == []


def test_an_extra_field_in_any_json_body_is_a_422_naming_it(
    api: Callable[..., TestClient], services: dict[str, ServiceManifest], auth: TokenFactory
) -> None:
    everyone = auth(*Role, subject="dr-li", name="Dr Li")
    posted = 0
    for name in services:
        client = api(name)
        document = client.get("/openapi.json").json()
        for path, method, media, schema in _operations(document):
            if media != "application/json" or "$ref" not in str(schema):
                continue
            response = client.request(
                method.upper(),
                _concrete(path),
                json={MISSPELT: True},
                headers={**everyone, "If-Match": '"1"', "Idempotency-Key": f"extra-{posted}"},
            )
            where = f"{name} {method.upper()} {path}"
            assert response.status_code == 422, f"{where}: {response.text}"
            assert response.headers["content-type"] == "application/problem+json", where
            errors = response.json()["errors"]
            assert any(
                error["loc"][-1] == MISSPELT and error["type"] == "extra_forbidden"
                for error in errors
            ), f"{where}: {errors}"
            assert MISSPELT in response.json()["detail"], where
            posted += 1
    assert posted >= 30


def test_an_unknown_element_of_a_fhir_observation_is_refused_by_name(
    api: Callable[..., TestClient], services: dict[str, ServiceManifest], auth: TokenFactory
) -> None:
    everyone = auth(*Role)
    observation = {
        "resourceType": "Observation",
        "id": "extra-1",
        "meta": {"versionId": "1"},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "subject": {"identifier": {"system": "urn:doseline:study-subject-id", "value": "S-1"}},
        "valueQuantity": {"value": 9.1, "unit": "g/dL"},
        MISSPELT: True,
    }
    checked = 0
    for name in services:
        client = api(name)
        document = client.get("/openapi.json").json()
        for path, method, media, _ in _operations(document):
            if media != FHIR_MEDIA:
                continue
            response = client.request(
                method.upper(),
                _concrete(path),
                content=json.dumps(observation),
                headers={**everyone, "Content-Type": FHIR_MEDIA},
            )
            where = f"{name} {method.upper()} {path}"
            if response.status_code == 200:
                # A FHIR batch: each entry has its own outcome and status.
                (entry,) = response.json()["entries"]
                assert entry["outcome"] == "rejected", where
                assert entry["status"].startswith("422"), where
                message = entry["detail"]
            else:
                assert response.status_code == 422, f"{where}: {response.text}"
                message = response.json()["issue"][0]["diagnostics"]
            assert f"{MISSPELT}: Extra inputs are not permitted" in message, where
            checked += 1
    assert checked >= 2
