"""Nothing valid is refused for our own trouble (docs/contract.md, "Nothing valid is refused"): errors the
operator must fix are held, never final, through the queue, the webhook and the sweep; a webhook that
cannot carry a booking out in time queues it; exactly one task whichever path gets there first."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from record_task.ledger.items import State, booking_key
from tests.conftest import Clock
from tools.lambda_events import FakeContext, direct, scheduled_event, sqs_event, sqs_record
from tools.local_aws import MotoStack
from tools.sample_events import signed_direct

HOUR, DAY = 3600, 86400
REVOKED = "AuthFailure.SecretIdNotFound"


def body(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])  # type: ignore[no-any-return]


def deliver(handler: ModuleType, payload: dict[str, Any], receive_count: int = 1, message_id: str = "m-1") -> list[str]:
    """One SQS delivery of `payload`: the message ids SQS is told to deliver again."""
    event = sqs_event(sqs_record(payload, message_id=message_id, receive_count=receive_count))
    return [failure["itemIdentifier"] for failure in handler.queue(event, FakeContext())["batchItemFailures"]]


def creates(emulator: Any) -> int:
    return sum(1 for action, _ in emulator.calls if action == "CreateRecordTask")


@pytest.mark.parametrize("code", [REVOKED, "AuthFailure.SignatureFailure", "ResourceNotFound.StopService"])
def test_queue_a_wrong_key_is_retried_then_created_once_fixed(
    handler: ModuleType, stack: MotoStack, emulator: Any, code: str
) -> None:
    t = int(time.time())
    payload = direct("k-1", t + HOUR, t + 2 * HOUR)
    emulator.inject("CreateRecordTask", code, times=1000)
    assert deliver(handler, payload, 1) == ["m-1"] and stack.results() == []  # retried, nothing said yet
    held = handler.APP.ledger.get(booking_key("direct", "k-1"))
    assert held.state == State.CREATING and held.held["code"] == code and held.lease_until == 0
    emulator.inject("CreateRecordTask", code, times=0)  # the operator fixed the key
    assert deliver(handler, payload, 2) == []
    assert [r["status"] for r in stack.results()] == ["created"] and len(emulator.tasks) == 1


def test_queue_last_delivery_says_failed_and_a_redrive_after_the_fix_creates(
    handler: ModuleType, stack: MotoStack, emulator: Any
) -> None:
    t = int(time.time())
    payload = direct("k-2", t + HOUR, t + 2 * HOUR)
    emulator.inject("CreateRecordTask", REVOKED, times=1000)
    assert deliver(handler, payload, stack.max_receive_count) == ["m-1"]  # SQS moves it to the DLQ
    (failed,) = stack.results()
    assert failed["status"] == "failed" and failed["error"]["code"] == REVOKED and failed["bookingId"] == "k-2"
    emulator.inject("CreateRecordTask", REVOKED, times=0)
    assert deliver(handler, payload, 1, message_id="m-redriven") == []  # nothing was remembered as final
    assert [r["status"] for r in stack.results()] == ["created"] and len(emulator.tasks) == 1
    assert deliver(handler, payload, 1, message_id="m-again") == [] and len(emulator.tasks) == 1


def test_a_permanent_refusal_stays_final(handler: ModuleType, stack: MotoStack, emulator: Any) -> None:
    t = int(time.time())
    payload = direct("k-3", t + HOUR, t + 2 * HOUR)
    emulator.inject("CreateRecordTask", "InvalidParameterValue.TemplateId")
    assert deliver(handler, payload) == []
    (failed,) = stack.results()
    assert failed["status"] == "failed" and failed["error"]["code"] == "InvalidParameterValue.TemplateId"
    assert deliver(handler, payload, message_id="m-2") == [] and stack.results() == []  # the same verdict, once
    assert creates(emulator) == 1 and emulator.tasks == []


def queued_messages(stack: MotoStack) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    answer = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return list(answer.get("Messages", []))


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "InternalError", REVOKED])
def test_webhook_queues_what_it_cannot_carry_out_and_the_queue_creates_it_once(
    handler: ModuleType, stack: MotoStack, emulator: Any, code: str
) -> None:
    t = int(time.time())
    text = json.dumps(direct("w-1", t + HOUR, t + 2 * HOUR))
    emulator.inject("CreateRecordTask", code, times=1000)
    answer = handler.webhook(signed_direct(text), FakeContext())
    assert answer["statusCode"] == 202 and body(answer)["status"] == "queued" and body(answer)["bookingId"] == "w-1"
    assert stack.results() == []  # an answer, not a published result
    (message,) = queued_messages(stack)
    assert message["Body"] == text and message["MessageAttributes"]["source"]["StringValue"] == "direct"
    emulator.inject("CreateRecordTask", code, times=0)
    retried = handler.webhook(signed_direct(text), FakeContext())  # the sender retries while it is queued
    assert retried["statusCode"] == 201
    record = sqs_record(message["Body"], message_id="q-1", source="direct")
    assert handler.queue(sqs_event(record), FakeContext())["batchItemFailures"] == []
    assert len(emulator.tasks) == 1 and [r["status"] for r in stack.results()] == ["created"]


def test_webhook_whose_rate_share_is_used_up_queues_at_once(
    load_handler: Callable[..., ModuleType], stack: MotoStack, emulator: Any
) -> None:
    """The next slot is 2 s away, within the 10 s budget, but a webhook does not wait that long for one: its
    share is used up, and queueing answers the sender at once."""
    handler = load_handler(LIVE_API_RATE_PER_SECOND="0.5", WEBHOOK_LIVE_BUDGET_SECONDS="10")
    t = int(time.time())
    first = handler.webhook(signed_direct(json.dumps(direct("s-1", t + HOUR, t + 2 * HOUR))), FakeContext())
    second = handler.webhook(signed_direct(json.dumps(direct("s-2", t + HOUR, t + 2 * HOUR))), FakeContext())
    assert first["statusCode"] == 201
    assert second["statusCode"] == 202 and body(second)["error"]["code"] == "RateShareUsedUp"
    assert [json.loads(m["Body"])["BookingId"] for m in queued_messages(stack)] == ["s-2"]
    again = handler.webhook(signed_direct(json.dumps(direct("s-1", t + HOUR, t + 2 * HOUR))), FakeContext())
    assert again["statusCode"] == 200 and body(again)["status"] == "created"  # a repeat is answered as one


def test_webhook_answers_503_only_when_it_can_neither_carry_out_nor_queue(
    load_handler: Callable[..., ModuleType], stack: MotoStack, emulator: Any
) -> None:
    handler = load_handler(BOOKINGS_QUEUE_URL=stack.queue_url + "-missing")
    t = int(time.time())
    emulator.inject("CreateRecordTask", "InternalError", times=1000)
    answer = handler.webhook(signed_direct(json.dumps(direct("n-1", t + HOUR, t + 2 * HOUR))), FakeContext())
    assert answer["statusCode"] == 503 and int(answer["headers"]["Retry-After"]) > 0


def test_sweep_holds_a_due_booking_until_the_key_is_fixed(
    handler: ModuleType, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    t = int(clock.now)
    start = t + 10 * DAY
    assert deliver(handler, direct("d-1", start, start + HOUR)) == []
    assert [r["status"] for r in stack.results()] == ["deferred"]
    clock.advance(5 * DAY)
    emulator.inject("CreateRecordTask", REVOKED, times=1000)
    summary = handler.sweep(scheduled_event(int(clock.now)), FakeContext())
    assert summary["held"] == 1 and stack.results() == []
    again = handler.sweep(scheduled_event(int(clock.now) + 300), FakeContext())  # every sweep tries again
    assert again["held"] == 1 and stack.results() == []
    emulator.inject("CreateRecordTask", REVOKED, times=0)
    fixed = handler.sweep(scheduled_event(int(clock.now) + 600), FakeContext())
    assert fixed["created"] == 1 and [r["status"] for r in stack.results()] == ["created"]
    assert len(emulator.tasks) == 1


def test_a_booking_held_until_its_window_is_over_fails_naming_the_error(
    handler: ModuleType, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    t = int(clock.now)
    start = t + 10 * DAY
    deliver(handler, direct("d-2", start, start + HOUR))
    stack.results()
    clock.advance(5 * DAY)
    emulator.inject("CreateRecordTask", REVOKED, times=1000)
    assert handler.sweep(scheduled_event(int(clock.now)), FakeContext())["held"] == 1
    over = start + 2 * HOUR
    clock.now = over
    summary = handler.sweep(scheduled_event(over), FakeContext())
    (failed,) = stack.results()
    assert summary["failed"] == 1 and failed["status"] == "failed" and failed["error"]["code"] == REVOKED
    assert "window is over" in failed["error"]["message"] and emulator.tasks == []
