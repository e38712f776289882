"""What real senders do that hand-written bookings do not: correct a rejected booking, send oversized
fields, fan in through SNS, or invoke the webhook with a non-HTTP event. Each must end in the right
result, through the handlers as Lambda drives them."""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any

import pytest

from record_task.sources.signatures import sign_calcom
from tools.lambda_events import FakeContext, direct, http_event, sqs_event, sqs_record
from tools.local_aws import MotoStack
from tools.sample_events import CALCOM_SECRET, calcom, signed_direct

HOUR = 3600


def answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return response["statusCode"], json.loads(response["body"])


def creates(emulator: Any) -> int:
    return sum(1 for action, _ in emulator.calls if action == "CreateRecordTask")


# -- 1. a rejection does not claim the booking id ------------------------------------------------------------


def test_a_corrected_direct_booking_is_judged_on_its_own(handler: ModuleType, stack: MotoStack, emulator: Any) -> None:
    t = int(time.time())
    stale = json.dumps(direct("x16", t - 2 * HOUR, t - HOUR))
    status, first = answer(handler.webhook(signed_direct(stale), FakeContext()))
    assert (status, first["error"]["field"]) == (400, "EndTime")
    repeat = answer(handler.webhook(signed_direct(stale), FakeContext()))
    assert repeat == (400, first)  # the identical body: the same verdict, not published again
    fixed = json.dumps(direct("x16", t + HOUR, t + 2 * HOUR))
    status, created = answer(handler.webhook(signed_direct(fixed), FakeContext()))
    assert (status, created["status"]) == (201, "created") and creates(emulator) == 1
    assert [r["status"] for r in stack.results()] == ["rejected", "created"]


def test_a_corrected_booking_on_the_queue_is_created(handler: ModuleType, stack: MotoStack, emulator: Any) -> None:
    t = int(time.time())
    bad = sqs_record(direct("x17", t + HOUR, t + 2 * HOUR, StreamType=7), message_id="m-bad")
    good = sqs_record(direct("x17", t + HOUR, t + 2 * HOUR, StreamType=1), message_id="m-good")
    assert handler.queue(sqs_event(bad), FakeContext()) == {"batchItemFailures": []}
    assert handler.queue(sqs_event(good), FakeContext()) == {"batchItemFailures": []}
    assert [(r["status"], (r["error"] or {}).get("field")) for r in stack.results()] == [
        ("rejected", "StreamType"),
        ("created", None),
    ]
    assert creates(emulator) == 1


def test_a_calcom_booking_resent_with_a_valid_stream_type_is_recorded(
    handler: ModuleType, stack: MotoStack, emulator: Any
) -> None:
    t = int(time.time()) // HOUR * HOUR + 2 * HOUR
    body = calcom("booking_created", t)
    for stream_type, expected in (("7", 400), ("1", 201)):
        body["payload"]["metadata"]["streamType"] = stream_type
        text = json.dumps(body)
        event = http_event("/webhooks/calcom", text, {"X-Cal-Signature-256": sign_calcom(text, CALCOM_SECRET)})
        assert handler.webhook(event, FakeContext())["statusCode"] == expected
    assert [r["status"] for r in stack.results()] == ["rejected", "created"] and creates(emulator) == 1


# -- 2. input too large to store or publish is rejected up front, never retried ------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("Extension", "e" * 250_000), ("BookingId", "b" * 10_000), ("DomainName", "d" * 100_000),
     ("StreamName", "s" * 5_000), ("EventType", "t" * 1_000)],
)  # fmt: skip
def test_an_oversized_field_is_rejected_naming_it_before_any_call(
    handler: ModuleType, stack: MotoStack, emulator: Any, field: str, value: str
) -> None:
    t = int(time.time())
    booking = {**direct("big", t + HOUR, t + 2 * HOUR), field: value}
    status, result = answer(handler.webhook(signed_direct(json.dumps(booking)), FakeContext()))
    assert (status, result["status"], result["error"]["field"]) == (400, "rejected", field)
    assert emulator.calls == []
    record = sqs_record(booking, message_id="m-big")
    assert handler.queue(sqs_event(record), FakeContext()) == {"batchItemFailures": []}  # not retried
    for published in stack.results():
        assert len(json.dumps(published)) < 4096  # what a result echoes of the input is bounded


def test_a_huge_calcom_trigger_is_answered_with_a_small_result(handler: ModuleType, stack: MotoStack) -> None:
    text = json.dumps({"triggerEvent": "X" * 200_000, "createdAt": "2026-11-27T00:00:00Z", "payload": {"uid": "u"}})
    event = http_event("/webhooks/calcom", text, {"X-Cal-Signature-256": sign_calcom(text, CALCOM_SECRET)})
    status, result = answer(handler.webhook(event, FakeContext()))
    assert status < 500 and result["error"]["field"] == "triggerEvent"
    (published,) = stack.results()
    assert len(json.dumps(published)) < 4096


# -- 3. SNS -> SQS fan-in ------------------------------------------------------------------------------------


def sns_envelope(message: dict[str, Any], source: str | None) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": "6b1f0e1c-1111-2222-3333-444455556666",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:bookings",
        "Message": json.dumps(message),
        "Timestamp": "2026-11-27T10:00:00.000Z",
        "SignatureVersion": "1",
    }
    if source is not None:
        envelope["MessageAttributes"] = {"source": {"Type": "String", "Value": source}}
    return envelope


@pytest.mark.parametrize("source", [None, "direct"])
def test_an_sns_envelope_on_the_queue_is_unwrapped(
    handler: ModuleType, stack: MotoStack, emulator: Any, source: str | None
) -> None:
    t = int(time.time())
    record = sqs_record(sns_envelope(direct("fan-in", t + HOUR, t + 2 * HOUR), source), message_id="m-sns")
    assert handler.queue(sqs_event(record), FakeContext()) == {"batchItemFailures": []}
    (result,) = stack.results()
    assert (result["status"], result["bookingId"], result["source"]) == ("created", "fan-in", "direct")


def test_an_sns_envelope_naming_another_source_is_refused(handler: ModuleType, stack: MotoStack) -> None:
    t = int(time.time())
    record = sqs_record(sns_envelope(direct("fan-in", t + HOUR, t + 2 * HOUR), "calcom"), message_id="m-sns")
    assert handler.queue(sqs_event(record), FakeContext()) == {"batchItemFailures": []}
    (result,) = stack.results()
    assert (result["status"], result["error"]["field"]) == ("rejected", "body")


# -- 6. direct fields without a BookingId name BookingId ----------------------------------------------------


def test_a_queue_body_of_direct_fields_without_a_booking_id_names_it(handler: ModuleType, stack: MotoStack) -> None:
    t = int(time.time())
    body = {k: v for k, v in direct("gone", t + HOUR, t + 2 * HOUR).items() if k != "BookingId"}
    assert handler.queue(sqs_event(sqs_record(body)), FakeContext()) == {"batchItemFailures": []}
    (result,) = stack.results()
    assert (result["status"], result["source"], result["error"]["field"]) == ("rejected", "direct", "BookingId")
