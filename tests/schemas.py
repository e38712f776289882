"""The published JSON Schemas (docs/schemas/) as validators for the tests.

Tests check results, bookings and webhook answers against the very documents users read, so a schema
that drifts from the code fails a test. Schemas refer to each other by relative file name; they are
resolved from disk (never over the network) through one registry.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed; used through `problems` only
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCHEMAS = DOCS / "schemas"


def _retrieve(uri: str) -> Resource:
    """Loads a referenced schema from docs/, by its file URI; any other URI is refused."""
    prefix = DOCS.as_uri() + "/"
    if not uri.startswith(prefix):
        raise LookupError(f"only schemas under {DOCS} are resolved, not {uri}")
    contents = json.loads((DOCS / uri.removeprefix(prefix)).read_text(encoding="utf-8"))
    return Resource.from_contents(contents, default_specification=DRAFT202012)


REGISTRY: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]  # an attrs alias mypy misses


def uri(name: str, pointer: str = "") -> str:
    """The URI of a schema file in docs/schemas/ (and a JSON pointer into it)."""
    return (SCHEMAS / name).as_uri() + (f"#{pointer}" if pointer else "")


@cache
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=REGISTRY)


def problems(instance: object, schema: dict[str, Any]) -> list[str]:
    """Every way `instance` breaks `schema` (2020-12), each with its path; empty when it is valid."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(instance)
    )


def problems_with(instance: object, name: str, pointer: str = "") -> list[str]:
    """`problems` against a schema file of docs/schemas/ (or a definition in it)."""
    return problems(instance, {"$ref": uri(name, pointer)})


def assert_valid(instance: object, name: str, pointer: str = "") -> None:
    found = problems_with(instance, name, pointer)
    assert not found, (
        f"not valid against docs/schemas/{name}{'#' + pointer if pointer else ''}:\n"
        + "\n".join(found)
        + f"\n{json.dumps(instance)[:2000]}"
    )


def check_published(message: dict[str, Any], attributes: dict[str, str]) -> None:
    """A published result: valid against result.schema.json, with the SNS attributes that filter policies
    match on (`status` always, `source` exactly when the result has one)."""
    assert_valid(message, "result.schema.json")
    expected = {"status": message["status"]}
    if message.get("source") is not None:
        expected["source"] = message["source"]
    assert attributes == expected, f"message attributes {attributes} do not match the result {expected}"
