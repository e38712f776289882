"""Bugs the fuzzing found (all fixed), each kept as the smallest input that showed it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from record_task.sources.signatures import sign_direct
from tests.fuzz.conftest import SECRETS, Harness
from tools.lambda_events import http_event, sqs_event, sqs_record


def _booking(now: int) -> str:
    body = '{"BookingId": "\\ud83d", "StreamName": "room-1", "StartTime": %d, "EndTime": %d}'
    return body % (now + 3600, now + 7200)


def test_a_lone_surrogate_in_a_webhook_booking_is_rejected_naming_the_field(fuzz: Harness) -> None:
    text = _booking(fuzz.now())
    headers = {"X-Signature-256": sign_direct(text, SECRETS["DIRECT_WEBHOOK_SECRET"])}
    example = fuzz.webhook(http_event("/bookings", text, headers))
    assert example.response["statusCode"] == 400
    assert json.loads(example.response["body"])["error"]["field"] == "BookingId"


def test_a_lone_surrogate_in_a_queue_booking_is_rejected_not_retried(fuzz: Harness) -> None:
    example = fuzz.queue(sqs_event(sqs_record(_booking(fuzz.now()), message_id="m-1")))
    assert example.response == {"batchItemFailures": []}
    assert [(r["status"], r["error"]["field"]) for r in example.results] == [("rejected", "BookingId")]


@pytest.mark.parametrize(
    "event",
    [{"Records": []}, {"Records": [{}]}, {"Records": [None]}],
    ids=["empty-batch", "record-without-id", "record-not-an-object"],
)
def test_an_unreadable_batch_is_answered_not_raised(fuzz: Harness, event: dict[str, Any]) -> None:
    assert fuzz.queue(event).response == {"batchItemFailures": []}


@pytest.mark.parametrize("version", ["2.0", "1.0"])
@pytest.mark.parametrize("body", [1, {"BookingId": "b"}], ids=["number", "object"])
def test_a_request_whose_body_is_not_a_string_is_answered_400(fuzz: Harness, version: str, body: object) -> None:
    event = {**http_event("/bookings", "{}", version=version), "body": body}
    assert fuzz.webhook(event).response["statusCode"] == 400
