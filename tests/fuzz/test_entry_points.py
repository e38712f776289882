"""Fuzzing `handler.webhook` and `handler.queue`: whatever arrives, every message ends in the right result.

For every example: no exception escapes, no 5xx, nothing listed for retry, every `rejected` result names
a field, and an invalid booking never reaches the Tencent API. Case counts come from the hypothesis
profile (`HYPOTHESIS_PROFILE`, tests/conftest.py): `ci` in `make test`, `soak` in `make soak`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from record_task.sources.signatures import sign_calcom, sign_calendly, sign_direct
from tests.fuzz.conftest import SECRETS, Example, Harness
from tests.fuzz.strategies import Booking, Text, b64, bookings, json_values, texts
from tools.lambda_events import http_event, sqs_event, sqs_record

FUZZ = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one stack per test function, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
ROUTES = {"direct": "/bookings", "calcom": "/webhooks/calcom", "calendly": "/webhooks/calendly"}
UNSIGNED = ("wrong", "missing", "malformed", "replayed", "no_secret")


@dataclass(frozen=True)
class Delivery:
    """How a webhook request arrives: route, signature, API Gateway payload version, base64."""

    route: str  # "match" (the body's own source) or a route of another source
    signature: str  # good | wrong | missing | malformed | replayed | no_secret
    version: str
    base64: str  # no | yes | invalid
    replay_age: int


deliveries = st.builds(
    Delivery,
    route=st.sampled_from(["match", "match", "match", *ROUTES.values()]),
    signature=st.sampled_from(["good", "good", "good", *UNSIGNED]),
    version=st.sampled_from(["2.0", "2.0", "1.0"]),
    base64=st.sampled_from(["no", "no", "yes", "invalid"]),
    replay_age=st.integers(181, 10**6),
)


def signed_event(booking: Booking, text: Text, delivery: Delivery, now: int) -> tuple[dict[str, Any], bytes]:
    raw = text.encode(booking.body(now))
    path = ROUTES[booking.source] if delivery.route == "match" else delivery.route
    headers = _signature(path, raw, delivery, now)
    try:
        raw.decode("utf-8")
        flagged = delivery.base64 != "no"
    except UnicodeDecodeError:
        flagged = True  # API Gateway hands a body that is not UTF-8 over as base64
    event = http_event(path, raw, headers, base64_body=flagged, version=delivery.version)
    if delivery.base64 == "invalid":
        event["body"] = "%%not base64%%" + b64(raw)[:20]
    return event, raw


def _signature(path: str, raw: bytes, delivery: Delivery, now: int) -> dict[str, str]:
    kind = delivery.signature
    if kind == "missing":
        return {}
    if path == "/webhooks/calendly":
        at = now - delivery.replay_age if kind == "replayed" else now
        value = sign_calendly(raw, SECRETS["CALENDLY_WEBHOOK_SECRET"], at)
        wrong = value[:-1] + ("0" if value[-1] != "0" else "1")
        value = {"wrong": wrong, "malformed": "v1=" + value, "no_secret": "no-secret-provided"}.get(kind, value)
        return {"Calendly-Webhook-Signature": value}
    if path == "/webhooks/calcom":
        value = sign_calcom(raw, SECRETS["CALCOM_WEBHOOK_SECRET"])
        name = "X-Cal-Signature-256"
    else:
        value = sign_direct(raw, SECRETS["DIRECT_WEBHOOK_SECRET"])
        name = "X-Signature-256"
    spoiled = {
        "wrong": sign_calcom(raw + b" ", "another-secret"),
        "malformed": value.upper() + "=",
        "no_secret": "no-secret-provided",
        "replayed": value[: len(value) // 2],  # no timestamp to replay here: a truncated one
    }
    return {name: spoiled.get(kind, value)}


def assert_answered(example: Example) -> None:
    """The properties every example must keep, whatever its input."""
    for result in example.results:
        if result["status"] == "rejected":
            assert result["error"] and result["error"]["field"], f"a rejection names no field: {result}"
    if example.results and all(r["status"] == "rejected" for r in example.results):
        assert example.calls == [], f"an invalid booking reached the API: {example.calls}"
    if not example.results:
        assert example.calls == [], f"API calls without a result: {example.calls}"


@FUZZ
@given(booking=bookings, text=texts, delivery=deliveries)
def test_webhook_answers_every_request_without_5xx(
    fuzz: Harness, booking: Booking, text: Text, delivery: Delivery
) -> None:
    event, raw = signed_event(booking, text, delivery, fuzz.now())
    example = fuzz.webhook(event)
    status = example.response["statusCode"]
    body = json.loads(example.response["body"])
    assert 200 <= status < 500, (status, body)
    if status == 400:
        assert body["error"]["field"], body
    if delivery.signature != "good" and delivery.base64 != "invalid" and len(raw) <= 256 * 1024:
        assert status == 401, (status, body)
    if status in (401, 413) or delivery.base64 == "invalid":
        assert example.results == [] and example.calls == [], example
    answered = [body, *body.get("related", [])] if "status" in body else []
    assert_answered(Example(example.response, answered, example.calls))
    assert_answered(example)


@dataclass(frozen=True)
class QueueDelivery:
    """How an SQS record carries the body: the `source` attribute, and an SNS envelope or not."""

    attribute: str | None
    envelope: str  # none | sns | sns_source | sns_bad_message | sns_message_not_text


queue_deliveries = st.builds(
    QueueDelivery,
    attribute=st.sampled_from([None, None, "match", "direct", "calcom", "calendly", "zoom", "DIRECT"]),
    envelope=st.sampled_from(["none", "none", "sns", "sns_source", "sns_bad_message", "sns_message_not_text"]),
)


def queue_body(booking: Booking, text: Text, delivery: QueueDelivery, now: int) -> tuple[str, str | None]:
    raw = text.encode(booking.body(now)).decode("utf-8", errors="replace")  # SQS carries Unicode text only
    source = booking.source if delivery.attribute == "match" else delivery.attribute
    if delivery.envelope == "none":
        return raw, source
    envelope: dict[str, Any] = {"Type": "Notification", "MessageId": "0-0", "TopicArn": "arn:aws:sns:x", "Message": raw}
    if delivery.envelope == "sns_source":
        envelope["MessageAttributes"] = {"source": {"Type": "String", "Value": booking.source}}
    elif delivery.envelope == "sns_bad_message":
        envelope["Message"] = raw[: len(raw) // 2] + "\x00{"
    elif delivery.envelope == "sns_message_not_text":
        envelope["Message"] = {"BookingId": booking.booking_id}
    return json.dumps(envelope), source


@FUZZ
@given(booking=bookings, text=texts, delivery=queue_deliveries)
def test_queue_record_is_answered_and_never_retried_for_bad_input(
    fuzz: Harness, booking: Booking, text: Text, delivery: QueueDelivery
) -> None:
    body, source = queue_body(booking, text, delivery, fuzz.now())
    example = fuzz.queue(sqs_event(sqs_record(body, message_id="m-1", source=source)))
    assert example.response == {"batchItemFailures": []}
    assert len(example.results) <= 2  # a reschedule is two results, anything else one (none when repeated)
    assert_answered(example)


@FUZZ
@given(items=st.lists(st.tuples(bookings, texts, queue_deliveries), min_size=2, max_size=6))
def test_queue_batch_lists_no_failure_for_any_mix_of_records(
    fuzz: Harness, items: list[tuple[Booking, Text, QueueDelivery]]
) -> None:
    now = fuzz.now()
    records = []
    for n, (booking, text, delivery) in enumerate(items):
        body, source = queue_body(booking, text, delivery, now)
        records.append(sqs_record(body, message_id=f"m-{n}", source=source))
    example = fuzz.queue(sqs_event(*records))
    assert example.response == {"batchItemFailures": []}
    assert len(example.results) <= 2 * len(records)
    for result in example.results:
        assert result["status"] != "rejected" or result["error"]["field"], result


events = st.one_of(
    json_values,
    st.fixed_dictionaries({"Records": json_values}),
    st.fixed_dictionaries({"Records": st.lists(st.dictionaries(st.sampled_from(["messageId", "body"]), json_values))}),
    st.fixed_dictionaries(
        {"version": st.sampled_from(["2.0", "1.0", None]), "requestContext": json_values},
        optional={"rawPath": st.text(max_size=20), "body": json_values, "headers": json_values},
    ),
)


@FUZZ
@given(event=events, route=st.sampled_from([None, *ROUTES.values(), "/webhooks/tencent", "/nope"]))
def test_malformed_events_are_answered_never_raised(fuzz: Harness, event: Any, route: str | None) -> None:
    if route is not None and isinstance(event, dict):
        good = http_event(route, json.dumps(event.get("body")), {}, version=str(event.get("version") or "2.0"))
        event = {**good, **{k: v for k, v in event.items() if k != "version"}}
        if route in ROUTES.values() and "body" in event and not isinstance(event["body"], str | None):
            event["body"] = json.dumps(event["body"])  # a body that is not a string: pinned in test_findings.py
    answer = fuzz.webhook(event).response
    assert 400 <= answer["statusCode"] < 500, answer
    if not pinned_queue_bug(event):
        queue_answer = fuzz.queue(event).response
        assert isinstance(queue_answer.get("batchItemFailures"), list), queue_answer


def pinned_queue_bug(event: Any) -> bool:
    """Shapes tests/fuzz/test_findings.py pins (they raise today): an empty batch, a record that is not an
    object with a `messageId`."""
    records = event.get("Records") if isinstance(event, dict) else None
    return isinstance(records, list) and (
        not records or any(not isinstance(r, dict) or "messageId" not in r for r in records)
    )
