"""docs/openapi.yaml held against what is deployed and what the webhook answers.

The routes are serverless.yml's, no more and no less; the signature headers are the ones the function
reads (a body signed into the header the document names is accepted); and each answer `handler.webhook`
gives (driven as Lambda drives it, against the local stack and the emulator) has a status code the
document lists for that route and a body its schema accepts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed; only for serverless.yml's CloudFormation tags
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from record_task.recordings.signature import sign_callback
from record_task.sources.registry import BY_NAME, SOURCES, parse_bookings
from record_task.sources.signatures import sign_calcom, sign_calendly, sign_direct
from tests.schemas import REGISTRY, problems
from tools import sample_events
from tools.lambda_events import FakeContext, direct, http_event

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "docs" / "openapi.yaml"
HOUR = 3600
DAY = 24 * HOUR
CALLBACK_KEY = "tencent-test-key"  # tests/e2e/conftest.py WEBHOOK_SECRETS
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
BY_PATH = {source.path: source.name for source in SOURCES}


def _load() -> tuple[dict[str, Any], str]:
    spec, uri = read_from_filename(str(OPENAPI))
    return cast(dict[str, Any], spec), uri


SPEC, SPEC_URI = _load()


def _local(ref: str) -> Any:
    """A `#/...` reference inside the OpenAPI document."""
    node: Any = SPEC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    validate(SPEC, base_uri=SPEC_URI)


def test_every_reference_resolves() -> None:
    """openapi-spec-validator does not follow references into other files; this does."""
    resolver = REGISTRY.resolver(base_uri=SPEC_URI)
    refs = set(_refs(SPEC))
    assert any(not ref.startswith("#") for ref in refs)
    for ref in refs:
        if ref.startswith("#/"):
            assert _local(ref) is not None, ref
        else:
            assert resolver.lookup(ref).contents is not None, ref


# -- the routes ----------------------------------------------------------------------------------------------


class _CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]  # yaml is untyped
    """serverless.yml as YAML, CloudFormation's short tags (!Ref, !GetAtt, ...) read as nothing."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _deployed_routes() -> set[tuple[str, str]]:
    config = yaml.load((ROOT / "serverless.yml").read_text(encoding="utf-8"), Loader=_CloudFormationLoader)
    routes: set[tuple[str, str]] = set()
    for function in config["functions"].values():
        for event in function.get("events", []):
            route = event.get("httpApi")
            if isinstance(route, str):
                method, path = route.split(" ", 1)
            elif isinstance(route, dict):
                method, path = route["method"], route["path"]
            else:
                continue
            routes.add((method.upper(), path))
    return routes


def _documented_routes() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in SPEC["paths"].items() for method in item if method in METHODS}


def test_the_document_has_exactly_the_routes_serverless_yml_deploys() -> None:
    deployed = _deployed_routes()
    assert deployed, "serverless.yml declares httpApi routes"
    assert _documented_routes() == deployed


# -- the answers ---------------------------------------------------------------------------------------------


def _operation(path: str) -> dict[str, Any]:
    return cast(dict[str, Any], SPEC["paths"][path]["post"])


def _response(path: str, status: int) -> dict[str, Any]:
    responses = _operation(path)["responses"]
    assert str(status) in responses, f"{path} answered {status}, which the document does not list"
    response = responses[str(status)]
    return cast(dict[str, Any], _local(response["$ref"]) if "$ref" in response else response)


def _signature_header(path: str) -> str:
    """The header the document says carries the route's signature."""
    (requirement,) = _operation(path)["security"]
    (scheme,) = requirement
    return cast(str, SPEC["components"]["securitySchemes"][scheme]["name"])


def _assert_documented(path: str, answer: dict[str, Any]) -> dict[str, Any]:
    status = answer["statusCode"]
    response = _response(path, status)
    schema = {"$id": SPEC_URI, **response["content"]["application/json"]["schema"]}  # its refs are relative
    body = json.loads(answer["body"])
    found = problems(body, schema)
    assert not found, f"{path} {status}: the body is not the documented one:\n" + "\n".join(found)
    headers = {name.lower() for name in answer.get("headers") or {}}
    for name, header in (response.get("headers") or {}).items():
        if "$ref" in header:
            header = _local(header["$ref"])
        assert not header.get("required") or name.lower() in headers, f"{path} {status} lacks {name}"
    return cast(dict[str, Any], body)


Send = Callable[[str, str | bytes, dict[str, str]], dict[str, Any]]


@pytest.fixture
def send(handler: ModuleType) -> Send:
    """POST through `handler.webhook` as API Gateway (HTTP API) would, returning the Lambda answer."""

    def post(path: str, body: str | bytes, headers: dict[str, str]) -> dict[str, Any]:
        return cast(dict[str, Any], handler.webhook(http_event(path, body, headers), FakeContext()))

    return post


def _signed_direct(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    text = json.dumps(body)
    return text, {_signature_header("/bookings"): sign_direct(text, sample_events.DIRECT_SECRET)}


def _now() -> int:
    return int(time.time())


def test_created_duplicate_and_cancelled_answers_are_documented(send: Send, emulator: Any) -> None:
    t = _now()
    text, headers = _signed_direct(direct("oa-created", t + HOUR, t + 2 * HOUR))
    created = _assert_documented("/bookings", send("/bookings", text, headers))
    assert created["status"] == "created" and len(emulator.tasks) == 1
    repeated = send("/bookings", text, headers)
    assert repeated["statusCode"] == 200 and _assert_documented("/bookings", repeated) == created
    cancel, cancel_headers = _signed_direct({"BookingId": "oa-created", "Action": "cancel"})
    cancelled = send("/bookings", cancel, cancel_headers)
    assert cancelled["statusCode"] == 200 and _assert_documented("/bookings", cancelled)["status"] == "cancelled"


def test_a_deferred_answer_is_documented(send: Send) -> None:
    t = _now()
    answer = send("/bookings", *_signed_direct(direct("oa-far", t + 20 * DAY, t + 20 * DAY + HOUR)))
    assert answer["statusCode"] == 202
    assert _assert_documented("/bookings", answer)["status"] == "deferred"


@pytest.mark.parametrize(
    ("case", "status"),
    [("invalid", 400), ("not-json", 400), ("bad-base64", 400), ("unsigned", 401), ("wrongly-signed", 401),
     ("oversized", 413)],
)  # fmt: skip
def test_refusals_are_documented(send: Send, handler: ModuleType, case: str, status: int) -> None:
    t = _now()
    text, headers = _signed_direct(direct("oa-bad", t + HOUR, "2026-12-01T10:00:00"))  # EndTime without offset
    if case == "not-json":
        text = "{not json"
        headers = {_signature_header("/bookings"): sign_direct(text, sample_events.DIRECT_SECRET)}
    elif case == "unsigned":
        headers = {}
    elif case == "wrongly-signed":
        headers = {_signature_header("/bookings"): sign_direct(text, "another-secret")}
    elif case == "oversized":
        text = json.dumps({"BookingId": "oa-big", "Extension": "x" * (256 * 1024)})
        headers = {_signature_header("/bookings"): sign_direct(text, sample_events.DIRECT_SECRET)}
    if case == "bad-base64":
        event = http_event("/bookings", "not base64!", headers)
        event["isBase64Encoded"] = True
        answer = cast(dict[str, Any], handler.webhook(event, FakeContext()))
    else:
        answer = send("/bookings", text, headers)
    assert answer["statusCode"] == status, answer
    _assert_documented("/bookings", answer)


def test_each_booking_source_is_accepted_with_the_documented_signature_header(send: Send) -> None:
    start = _now() + 2 * HOUR
    calcom = json.dumps(sample_events.calcom("booking_created", start))
    answer = send(
        "/webhooks/calcom", calcom, {_signature_header("/webhooks/calcom"): sign_calcom(calcom, "calcom-test-secret")}
    )
    assert answer["statusCode"] == 201 and _assert_documented("/webhooks/calcom", answer)["source"] == "calcom"
    calendly = json.dumps(sample_events.calendly("invitee_created", start + DAY))
    header = sign_calendly(calendly, sample_events.CALENDLY_SECRET, _now())
    answer = send("/webhooks/calendly", calendly, {_signature_header("/webhooks/calendly"): header})
    assert answer["statusCode"] == 201 and _assert_documented("/webhooks/calendly", answer)["source"] == "calendly"


def test_tencent_callback_answers_are_documented(send: Send) -> None:
    t = _now() + 600
    other = {"event_type": 1, "stream_id": "room-1", "t": t, "sign": sign_callback(CALLBACK_KEY, t)}
    answer = send("/webhooks/tencent", json.dumps(other), {})
    assert answer["statusCode"] == 200 and _assert_documented("/webhooks/tencent", answer)["status"] == "ignored"
    unowned = {**json.loads((ROOT / "tests/fixtures/tencent/record_file.json").read_text()), "t": t}
    unowned["sign"] = sign_callback(CALLBACK_KEY, t)
    answer = send("/webhooks/tencent", json.dumps(unowned), {})
    assert answer["statusCode"] == 200 and _assert_documented("/webhooks/tencent", answer)["status"] == "skipped"
    forged = {**other, "sign": sign_callback("another-key", t)}
    assert send("/webhooks/tencent", json.dumps(forged), {})["statusCode"] == 401
    _assert_documented("/webhooks/tencent", send("/webhooks/tencent", json.dumps(forged), {}))
    oversized = send("/webhooks/tencent", json.dumps({**other, "pad": "x" * (256 * 1024)}), {})
    assert oversized["statusCode"] == 413
    _assert_documented("/webhooks/tencent", oversized)


def test_the_tencent_fixtures_match_the_callback_schema() -> None:
    schema = {
        "$id": SPEC_URI,
        **_operation("/webhooks/tencent")["requestBody"]["content"]["application/json"]["schema"],
    }
    for path in sorted((ROOT / "tests" / "fixtures" / "tencent").glob("*.json")):
        assert not problems(json.loads(path.read_text(encoding="utf-8")), schema), path.name


def test_the_documented_request_examples_are_valid_and_read_by_the_function() -> None:
    examples = 0
    for path, item in SPEC["paths"].items():
        body = item["post"]["requestBody"]
        body = _local(body["$ref"]) if "$ref" in body else body
        media = body["content"]["application/json"]
        schema = {"$id": SPEC_URI, **media["schema"]}
        for name, example in (media.get("examples") or {}).items():
            examples += 1
            assert not problems(example["value"], schema), (path, name)
            if path in BY_PATH:
                parse_bookings(example["value"], BY_NAME[BY_PATH[path]])
    assert examples
