"""Cal.com and Calendly webhooks through handler.webhook / handler.queue, in their published shapes."""

from __future__ import annotations

import copy
import json
import time
from types import ModuleType
from typing import Any

import pytest

from record_task.sources.signatures import sign_calcom, sign_calendly
from tests.e2e.conftest import WEBHOOK_SECRETS as SECRETS
from tools import sample_events
from tools.lambda_events import FakeContext, http_event, scheduled_event, sqs_event, sqs_record
from tools.local_aws import MotoStack

HOUR = 3600
DAY = 24 * HOUR


def soon() -> int:
    now = int(time.time())
    return now - now % HOUR + 2 * HOUR


def calcom(handler: ModuleType, body: dict[str, Any], *, base64_body: bool = False) -> dict[str, Any]:
    text = json.dumps(body)
    signature = sign_calcom(text, SECRETS["CALCOM_WEBHOOK_SECRET"])
    event = http_event("/webhooks/calcom", text, {"X-Cal-Signature-256": signature}, base64_body=base64_body)
    return handler.webhook(event, FakeContext())  # type: ignore[no-any-return]


def calendly(handler: ModuleType, body: dict[str, Any], *, at: int | None = None) -> dict[str, Any]:
    text = json.dumps(body)
    header = sign_calendly(text, SECRETS["CALENDLY_WEBHOOK_SECRET"], at or int(time.time()))
    event = http_event("/webhooks/calendly", text, {"Calendly-Webhook-Signature": header})
    return handler.webhook(event, FakeContext())  # type: ignore[no-any-return]


def status(response: dict[str, Any]) -> tuple[int, str]:
    return response["statusCode"], json.loads(response["body"]).get("status") or json.loads(response["body"])["error"][
        "message"
    ]


def live(emulator: Any) -> list[str]:
    return sorted(t["StreamName"] for t in emulator.tasks if t["Status"] != "deleted")


def test_calcom_created_rescheduled_cancelled(handler: ModuleType, stack: MotoStack, emulator: Any) -> None:
    start = soon()
    assert status(calcom(handler, sample_events.calcom("booking_created", start))) == (201, "created")
    assert status(calcom(handler, sample_events.calcom("booking_created", start))) == (200, "created")
    moved = calcom(handler, sample_events.calcom("booking_rescheduled", start + 3 * HOUR))
    assert status(moved) == (201, "created")
    related = json.loads(moved["body"])["related"]
    assert [(r["bookingId"], r["status"]) for r in related] == [("qX4nT2vRbZ8hWkLm5PcD1s", "cancelled")]
    assert live(emulator) == ["mR7pQ3sLw9YcV2nHk6JdF0"]
    assert status(calcom(handler, sample_events.calcom("booking_cancelled", start + 3 * HOUR))) == (200, "cancelled")
    assert live(emulator) == []
    statuses = [(r["bookingId"][:4], r["status"], r["_attributes"]["source"]) for r in stack.results()]
    assert statuses == [
        ("qX4n", "created", "calcom"),
        ("qX4n", "cancelled", "calcom"),
        ("mR7p", "created", "calcom"),
        ("mR7p", "cancelled", "calcom"),
    ]


def test_calcom_base64_body_and_other_triggers(handler: ModuleType, emulator: Any) -> None:
    assert status(calcom(handler, sample_events.calcom("booking_created", soon()), base64_body=True))[0] == 201
    ended = calcom(handler, sample_events.fixture("calcom/meeting_ended.json"))
    assert status(ended) == (200, "skipped")
    assert len(emulator.tasks) == 1


@pytest.mark.parametrize(
    ("header", "says"),
    [(None, "X-Cal-Signature-256"), ("no-secret-provided", "secret"), ("00" * 32, "signature")],
    ids=["missing", "no-secret-provided", "wrong"],
)
def test_calcom_bad_signatures_are_401(handler: ModuleType, emulator: Any, header: str | None, says: str) -> None:
    body = json.dumps(sample_events.calcom("booking_created", soon()))
    event = http_event("/webhooks/calcom", body, {"X-Cal-Signature-256": header} if header else {})
    response = handler.webhook(event, FakeContext())
    assert response["statusCode"] == 401 and says.lower() in response["body"].lower()
    assert emulator.calls == []


def test_calendly_group_event_records_once_and_cancels_when_nobody_is_left(
    handler: ModuleType, stack: MotoStack, emulator: Any
) -> None:
    start = soon()
    first = sample_events.calendly("group_invitee_created_first", start)
    second = sample_events.calendly("group_invitee_created_second", start)
    assert status(calendly(handler, first)) == (201, "created")
    assert status(calendly(handler, second))[1] == "created"  # same scheduled event: the first outcome
    assert len(emulator.tasks) == 1
    still_active = sample_events.calendly("group_invitee_canceled_others_active", start)
    assert status(calendly(handler, still_active)) == (200, "skipped")
    assert live(emulator) != []
    last = copy.deepcopy(still_active)
    last["payload"]["scheduled_event"]["invitees_counter"]["active"] = 0
    last["payload"]["uri"] = last["payload"]["uri"] + "-last"
    assert status(calendly(handler, last)) == (200, "cancelled")
    assert live(emulator) == []


@pytest.mark.parametrize("create_first", [True, False], ids=["create-first", "cancel-first"])
def test_calendly_reschedule_pair_in_either_order(handler: ModuleType, emulator: Any, create_first: bool) -> None:
    start = soon()
    assert status(calendly(handler, sample_events.calendly("invitee_created", start)))[0] == 201
    create = sample_events.calendly("rescheduled_invitee_created", start + 3 * HOUR)
    cancel = sample_events.calendly("rescheduled_invitee_canceled", start)
    for body in [create, cancel] if create_first else [cancel, create]:
        assert calendly(handler, body)["statusCode"] in (200, 201)
    assert live(emulator) == ["3a5c7e9b-1d3f-4a5c-8e7a-9b1d3f5a7c9e"]


def test_calendly_stale_signature_is_a_replay(handler: ModuleType, emulator: Any) -> None:
    body = sample_events.calendly("invitee_created", soon())
    response = calendly(handler, body, at=int(time.time()) - 600)
    assert response["statusCode"] == 401 and "replay" in response["body"].lower()


def test_calendly_payload_without_scheduled_event_is_rejected(handler: ModuleType, stack: MotoStack) -> None:
    body = sample_events.fixture("calendly/invitee_canceled_old_subscription.json")
    response = calendly(handler, body)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["field"] == "payload.scheduled_event"


def test_far_bookings_are_deferred_from_every_source_and_entry_point(
    handler: ModuleType, stack: MotoStack, emulator: Any, clock: Any
) -> None:
    far = soon() + 21 * DAY
    assert status(calcom(handler, sample_events.calcom("booking_created", far))) == (202, "deferred")
    assert status(calendly(handler, sample_events.calendly("invitee_created", far))) == (202, "deferred")
    queued = sqs_event(sqs_record(sample_events.calcom("booking_rescheduled", far), source="calcom"))
    assert handler.queue(queued, FakeContext()) == {"batchItemFailures": []}
    assert emulator.calls == []
    clock.now = far - DAY
    summary = handler.sweep(scheduled_event(far - DAY), FakeContext(remaining_ms=900_000))
    # the reschedule cancelled the deferred qX4n in the ledger only: two bookings are left to activate
    assert (summary["due"], summary["created"]) == (2, 2)
    assert sorted(t["StreamName"] for t in emulator.tasks) == [
        "0f6c1a3e-9b2d-4e7f-8a1c-3d5e7f9b1a2c",
        "mR7pQ3sLw9YcV2nHk6JdF0",
    ]
    statuses = [(r["bookingId"][:4], r["status"]) for r in stack.results()]
    assert statuses[:4] == [("qX4n", "deferred"), ("0f6c", "deferred"), ("qX4n", "cancelled"), ("mR7p", "deferred")]
    assert sorted(statuses[4:]) == [("0f6c", "created"), ("mR7p", "created")]  # the sweep works in parallel
