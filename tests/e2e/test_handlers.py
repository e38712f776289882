"""handler.py driven as Lambda drives it: real-shaped events, moto server and the emulator over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from record_task.ledger.items import Entry, State, booking_key
from record_task.sources.registry import parse_bookings
from record_task.sources.signatures import sign_calcom
from tests.conftest import Clock
from tools.lambda_events import FakeContext, direct, http_event, scheduled_event, sqs_event, sqs_record
from tools.local_aws import MotoStack
from tools.sample_events import CALCOM_SECRET, signed_direct

HOUR = 3600
DAY = 24 * HOUR


def now() -> int:
    return int(time.time())


def body(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])  # type: ignore[no-any-return]


# -- queue ------------------------------------------------------------------------------------------------------


def test_batch_reports_only_the_transient_failure(handler: ModuleType, stack: MotoStack, emulator: Any) -> None:
    t = now()
    (busy,) = parse_bookings(direct("busy", t + HOUR, t + 2 * HOUR))
    held = Entry(booking_key(busy.source, busy.booking_id), State.CREATING, busy, lease_until=t + 600)
    assert handler.APP.ledger.insert(held, t) is None  # claimed elsewhere: transient
    records = [
        sqs_record(direct("ok-1", t + HOUR, t + 2 * HOUR), message_id="m-ok-1"),
        sqs_record(direct("ok-2", t + HOUR, t + 2 * HOUR), message_id="m-ok-2"),
        sqs_record("{not json", message_id="m-bad-json"),
        sqs_record(direct("bad-window", t + HOUR, t + HOUR), message_id="m-bad-window"),
        sqs_record(direct("busy", t + HOUR, t + 2 * HOUR), message_id="m-busy"),
    ]
    response = handler.queue(sqs_event(*records), FakeContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-busy"}]}
    statuses = sorted((r["bookingId"] or "-", r["status"]) for r in stack.results())
    assert statuses == [("-", "rejected"), ("bad-window", "rejected"), ("ok-1", "created"), ("ok-2", "created")]
    assert len(emulator.tasks) == 2


def test_rejections_name_the_field(handler: ModuleType, stack: MotoStack) -> None:
    t = now()
    handler.queue(sqs_event(sqs_record(direct("b", t + HOUR, "2026-12-01T10:00:00"))), FakeContext())
    (result,) = stack.results()
    assert result["status"] == "rejected" and result["bookingId"] == "b"
    assert result["error"]["field"] == "EndTime" and "offset" in result["error"]["message"]


def test_a_batch_that_failed_entirely_is_returned_not_raised(handler: ModuleType, emulator: Any) -> None:
    t = now()
    emulator.inject("CreateRecordTask", "InternalError", times=1000)
    records = [sqs_record(direct(f"b-{n}", t + HOUR, t + 2 * HOUR), message_id=f"m-{n}") for n in range(3)]
    response = handler.queue(sqs_event(*records), FakeContext())
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["m-0", "m-1", "m-2"]


def test_last_delivery_publishes_failed_before_the_dead_letter_queue(
    handler: ModuleType, stack: MotoStack, emulator: Any
) -> None:
    t = now()
    emulator.inject("CreateRecordTask", "InternalError", times=1000)
    record = sqs_record(direct("b", t + HOUR, t + 2 * HOUR), message_id="m-1", receive_count=stack.max_receive_count)
    assert handler.queue(sqs_event(record), FakeContext())["batchItemFailures"] == [{"itemIdentifier": "m-1"}]
    (result,) = stack.results()
    assert result["status"] == "failed" and result["error"]["code"].startswith("InternalError")


def test_duplicate_delivery_creates_one_task_and_one_result(
    handler: ModuleType, stack: MotoStack, emulator: Any
) -> None:
    t = now()
    record = sqs_record(direct("b", t + HOUR, t + 2 * HOUR), message_id="m-1")
    assert handler.queue(sqs_event(record), FakeContext()) == {"batchItemFailures": []}
    assert handler.queue(sqs_event({**record, "messageId": "m-2"}), FakeContext()) == {"batchItemFailures": []}
    assert len(emulator.tasks) == 1 and [r["status"] for r in stack.results()] == ["created"]


def test_redelivery_through_real_sqs_ends_in_the_dead_letter_queue(
    handler: ModuleType, stack: MotoStack, emulator: Any
) -> None:
    """SQS itself redelivers what the handler reports, then moves it to the DLQ."""
    sqs = stack.client("sqs")
    t = now()
    emulator.inject("CreateRecordTask", "InternalError", times=1000)
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps(direct("b", t + HOUR, t + 2 * HOUR)))
    for _ in range(stack.max_receive_count + 1):
        messages = sqs.receive_message(
            QueueUrl=stack.queue_url, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            record = sqs_record(
                message["Body"],
                message_id=message["MessageId"],
                receive_count=int(message["Attributes"]["ApproximateReceiveCount"]),
            )
            failures = handler.queue(sqs_event(record), FakeContext())["batchItemFailures"]
            if not failures:
                sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
    dead = sqs.receive_message(QueueUrl=stack.dlq_url).get("Messages", [])
    assert len(dead) == 1
    assert [r["status"] for r in stack.results()] == ["failed"]


def test_source_attribute_selects_the_parser(handler: ModuleType, stack: MotoStack) -> None:
    t = now()
    record = sqs_record(direct("b", t + HOUR, t + 2 * HOUR), source="calcom")
    handler.queue(sqs_event(record), FakeContext())
    (result,) = stack.results()
    assert result["status"] == "rejected"


def test_a_rejection_names_the_source_its_shape_shows(handler: ModuleType, stack: MotoStack) -> None:
    """Without a `source` attribute the rejected body's shape still says where it came from; the same
    bad body through the webhook is then the same rejection, and through another source's route a new one."""
    t = now()
    bad = json.dumps(direct("b", t + HOUR, "2026-12-01T10:00:00"))
    handler.queue(sqs_event(sqs_record(bad)), FakeContext())
    (result,) = stack.results()
    assert (result["source"], result["bookingId"], result["error"]["field"]) == ("direct", "b", "EndTime")
    again = handler.webhook(signed_direct(bad), FakeContext())
    assert again["statusCode"] == 400 and body(again) == {k: v for k, v in result.items() if k != "_attributes"}
    assert stack.results() == []  # the repeat published nothing
    signed = {"X-Cal-Signature-256": sign_calcom(bad, CALCOM_SECRET)}
    misrouted = handler.webhook(http_event("/webhooks/calcom", bad, signed), FakeContext())
    assert (
        misrouted["statusCode"] == 400 and "direct format but was sent as calcom" in body(misrouted)["error"]["message"]
    )
    (published,) = stack.results()
    assert (published["source"], published["error"]["field"]) == ("calcom", "body")


def test_an_event_that_is_not_from_sqs_is_answered_not_raised(handler: ModuleType, stack: MotoStack) -> None:
    for event in ({}, {"Records": "x"}):
        assert handler.queue(event, FakeContext()) == {"batchItemFailures": []}
    assert stack.results() == []


def test_a_sweep_event_with_an_unreadable_time_uses_the_wall_clock(handler: ModuleType) -> None:
    before = now()
    summary = handler.sweep({"time": "yesterday"}, FakeContext())
    assert before <= summary["time"] <= now() and summary["due"] == 0


# -- webhook ----------------------------------------------------------------------------------------------------


def test_webhook_status_codes(handler: ModuleType, stack: MotoStack, emulator: Any) -> None:
    t = now()
    valid = json.dumps(direct("w-1", t + HOUR, t + 2 * HOUR))
    created = handler.webhook(signed_direct(valid), FakeContext())
    assert created["statusCode"] == 201 and body(created)["status"] == "created"
    duplicate = handler.webhook(signed_direct(valid), FakeContext())
    assert duplicate["statusCode"] == 200 and body(duplicate) == body(created)
    invalid = handler.webhook(signed_direct(json.dumps({"BookingId": "w-2"})), FakeContext())
    assert invalid["statusCode"] == 400 and body(invalid)["error"]["field"] == "EndTime"
    not_json = handler.webhook(signed_direct("{"), FakeContext())
    assert not_json["statusCode"] == 400 and "JSON" in body(not_json)["error"]["message"]
    far = json.dumps(direct("w-3", t + 21 * DAY, t + 21 * DAY + HOUR))
    deferred = handler.webhook(signed_direct(far), FakeContext())
    assert deferred["statusCode"] == 202 and body(deferred)["window"]["startTime"] == t + 21 * DAY
    cancelled = handler.webhook(signed_direct(json.dumps({"BookingId": "w-1", "Action": "cancel"})), FakeContext())
    assert cancelled["statusCode"] == 200 and body(cancelled)["status"] == "cancelled"
    too_big = handler.webhook(signed_direct(" " * (256 * 1024 + 1)), FakeContext())
    assert too_big["statusCode"] == 413 and body(too_big)["error"]["field"] == "body"
    bad_base64 = signed_direct(valid, base64_body=True)
    bad_base64["body"] = "%%% not base64"
    undecodable = handler.webhook(bad_base64, FakeContext())
    assert undecodable["statusCode"] == 400 and body(undecodable)["error"]["field"] == "body"
    unknown = handler.webhook(http_event("/nowhere", valid), FakeContext())
    assert unknown["statusCode"] == 404
    emulator.inject("CreateRecordTask", "InvalidParameterValue")
    refused = handler.webhook(signed_direct(json.dumps(direct("w-4", t + HOUR, t + 2 * HOUR))), FakeContext())
    assert refused["statusCode"] == 502 and body(refused)["status"] == "failed"
    emulator.inject("CreateRecordTask", "RequestLimitExceeded", times=1000)
    busy = handler.webhook(signed_direct(json.dumps(direct("w-5", t + HOUR, t + 2 * HOUR))), FakeContext())
    assert busy["statusCode"] == 202 and body(busy)["status"] == "queued"  # the queue carries it out


def test_rest_api_events_and_base64_bodies(handler: ModuleType) -> None:
    t = now()
    payload = json.dumps(direct("r-1", t + HOUR, t + 2 * HOUR))
    response = handler.webhook(signed_direct(payload, version="1.0", base64_body=True), FakeContext())
    assert response["statusCode"] == 201


def test_direct_secret_requires_a_valid_signature(load_handler: Callable[..., ModuleType]) -> None:
    handler = load_handler(DIRECT_WEBHOOK_SECRET="direct-secret")
    t = now()
    payload = json.dumps(direct("s-1", t + HOUR, t + 2 * HOUR))
    unsigned = handler.webhook(http_event("/bookings", payload), FakeContext())
    assert unsigned["statusCode"] == 401 and "X-Signature-256" in body(unsigned)["error"]["message"]
    wrong = handler.webhook(http_event("/bookings", payload, {"X-Signature-256": "sha256=00"}), FakeContext())
    assert wrong["statusCode"] == 401
    signature = hmac.new(b"direct-secret", payload.encode(), hashlib.sha256).hexdigest()
    signed = handler.webhook(
        http_event("/bookings", payload, {"X-Signature-256": f"sha256={signature}"}), FakeContext()
    )
    assert signed["statusCode"] == 201


@pytest.mark.parametrize(
    ("path", "setting"),
    [("/bookings", "DIRECT_WEBHOOK_SECRET"), ("/webhooks/calcom", "CALCOM_WEBHOOK_SECRET"),
     ("/webhooks/calendly", "CALENDLY_WEBHOOK_SECRET")],
)  # fmt: skip
def test_a_route_without_its_secret_is_closed(
    load_handler: Callable[..., ModuleType], emulator: Any, path: str, setting: str
) -> None:
    handler = load_handler(**{setting: ""})
    t = now()
    response = handler.webhook(http_event(path, json.dumps(direct("open", t + HOUR, t + 2 * HOUR))), FakeContext())
    assert response["statusCode"] == 401 and setting in body(response)["error"]["message"]
    assert emulator.calls == []


@pytest.mark.parametrize(
    "event", [{}, {"Records": []}, {"requestContext": "x"}, {"version": "2.0", "requestContext": {}}]
)
def test_an_event_that_is_not_an_http_request_is_a_400(handler: ModuleType, event: dict[str, Any]) -> None:
    response = handler.webhook(event, FakeContext())
    assert response["statusCode"] == 400 and body(response)["error"]["field"] == "event"


def test_configuration_error_is_reported_not_crashed(load_handler: Callable[..., ModuleType]) -> None:
    handler = load_handler(STREAM_NAME_TEMPLATE="{nope}")
    response = handler.webhook(signed_direct("{}"), FakeContext())
    assert response["statusCode"] == 500 and "STREAM_NAME_TEMPLATE" in body(response)["error"]["message"]


# -- sweep ------------------------------------------------------------------------------------------------------


def test_sweep_uses_the_scheduled_time(handler: ModuleType, stack: MotoStack, emulator: Any, clock: Clock) -> None:
    t = now()
    start = t + 21 * DAY
    handler.queue(sqs_event(sqs_record(direct("far", start, start + HOUR))), FakeContext())
    assert handler.sweep(scheduled_event(t + HOUR), FakeContext())["due"] == 0
    clock.now = start - DAY
    summary = handler.sweep(scheduled_event(start - DAY), FakeContext(remaining_ms=900_000))
    assert (summary["due"], summary["created"]) == (1, 1)
    assert [r["status"] for r in stack.results()] == ["deferred", "created"]
    assert len(emulator.tasks) == 1


# -- observability ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("disabled", "printed"), [("true", 0), ("false", 1)])
def test_disabled_metrics_print_nothing_however_many_are_counted(
    load_handler: Callable[..., ModuleType], capsys: pytest.CaptureFixture[str], disabled: str, printed: int
) -> None:
    """Powertools prints a metric set once a metric holds 100 values, disabled or not (the soak and bench
    output was full of them): with metrics disabled the function counts nothing."""
    handler = load_handler(POWERTOOLS_METRICS_DISABLED=disabled)
    handler.metrics.clear_metrics()
    capsys.readouterr()
    try:
        for _ in range(150):
            handler.APP.outbox.count("created")
    finally:
        handler.metrics.clear_metrics()
    assert sum('"_aws"' in line for line in capsys.readouterr().out.splitlines()) == printed


def test_log_lines_carry_the_ids_and_never_a_secret(load_handler: Callable[..., ModuleType]) -> None:
    secrets = {"DIRECT_WEBHOOK_SECRET": "super-secret-direct", "CALCOM_WEBHOOK_SECRET": "super-secret-calcom"}
    handler = load_handler(POWERTOOLS_LOG_LEVEL="INFO", **secrets)
    captured = io.StringIO()
    sink = logging.StreamHandler(captured)  # the Lambda log stream, with the function's own JSON formatter
    sink.setFormatter(handler.logger.registered_formatter)
    root = logging.getLogger("record-task")
    root.addHandler(sink)
    # Powertools gives each module's child logger the level POWERTOOLS_LOG_LEVEL had when it was imported,
    # which in this process may have been an earlier test's: this test reads INFO lines from all of them.
    made = logging.root.manager.loggerDict  # loggers only: a placeholder made a logger would orphan its children
    family = [root, *(v for k, v in made.items() if k.startswith("record-task.") and isinstance(v, logging.Logger))]
    previous = [logger.level for logger in family]
    for logger in family:
        logger.setLevel(logging.INFO)
    try:
        t = now()
        record = sqs_record(direct("b-log", t + HOUR, t + 2 * HOUR), message_id="m-log")
        assert handler.queue(sqs_event(record), FakeContext()) == {"batchItemFailures": []}
        handler.webhook(http_event("/bookings", "{}", {"X-Signature-256": "sha256=00"}), FakeContext())
        handler.webhook(http_event("/webhooks/calcom", "{}", {"X-Cal-Signature-256": "00"}), FakeContext())
    finally:
        root.removeHandler(sink)
        for logger, level in zip(family, previous, strict=True):
            logger.setLevel(level)
    output = captured.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    booking_lines = [line for line in lines if line.get("booking_id") == "b-log"]
    assert len(booking_lines) >= 2 and all(line.get("message_id") == "m-log" for line in booking_lines)
    assert any(line["message"] == "signature refused" for line in lines)
    for secret in ("super-secret-direct", "super-secret-calcom", "emulator-secret-key"):
        assert secret not in output
