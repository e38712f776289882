"""Calendly webhook bodies (API v2 shapes, see tests/fixtures/calendly) as bookings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from record_task.errors import InvalidBooking
from record_task.model.booking import StreamFields
from record_task.sources.calendly import QUESTIONS, normalise_question, parse_calendly

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "calendly"
DEC_1_0200 = 1796090400  # 2026-12-01T02:00:00Z
HOUR = 3600
DAY = 24 * HOUR
ONE_ON_ONE = "0f6c1a3e-9b2d-4e7f-8a1c-3d5e7f9b1a2c"
MOVED_TO = "3a5c7e9b-1d3f-4a5c-8e7a-9b1d3f5a7c9e"
GROUP = "5d7f9b1c-3e5a-4c7e-9a1b-3c5d7e9f1b3d"


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def rejected(body: object) -> InvalidBooking:
    with pytest.raises(InvalidBooking) as caught:
        parse_calendly(body)
    return caught.value


# -- created / canceled -----------------------------------------------------------------------------------------


def test_invitee_created_is_a_create_for_the_scheduled_event() -> None:
    booking = parse_calendly(fixture("invitee_created"))
    assert booking.booking_id == ONE_ON_ONE
    assert (booking.source, booking.action, booking.trigger) == ("calendly", "create", "invitee.created")
    assert (booking.start_time, booking.end_time) == (DEC_1_0200, DEC_1_0200 + HOUR)
    assert booking.event_type == "8a3f1c2d-5e6b-4a7c-9d8e-1f2a3b4c5d6e"
    assert booking.stream == StreamFields()
    assert booking.replaces is None and booking.skip_reason is None


def test_canceled_meeting_is_a_cancel() -> None:
    booking = parse_calendly(fixture("invitee_canceled"))
    assert (booking.booking_id, booking.action, booking.trigger) == (ONE_ON_ONE, "cancel", "invitee.canceled")
    assert booking.skip_reason is None


def test_group_event_invitees_share_one_booking() -> None:
    first = parse_calendly(fixture("group_invitee_created_first"))
    second = parse_calendly(fixture("group_invitee_created_second"))
    assert first.booking_id == second.booking_id == GROUP
    assert (first.source, first.booking_id, first.action) == (second.source, second.booking_id, second.action)
    assert (first.start_time, first.end_time) == (second.start_time, second.end_time)


def test_cancel_with_invitees_left_is_skipped() -> None:
    booking = parse_calendly(fixture("group_invitee_canceled_others_active"))
    assert (booking.booking_id, booking.action) == (GROUP, "cancel")
    assert booking.skip_reason == "1 invitee still active"


@given(active=st.integers(min_value=0, max_value=10_000), status=st.sampled_from(["active", "canceled"]))
def test_cancel_only_once_nobody_is_left(active: int, status: str) -> None:
    body = fixture("group_invitee_canceled_others_active")
    body["payload"]["scheduled_event"]["invitees_counter"]["active"] = active
    body["payload"]["scheduled_event"]["status"] = status
    booking = parse_calendly(body)
    assert booking.action == "cancel"
    if status == "canceled" or active == 0:
        assert booking.skip_reason is None
    else:
        assert booking.skip_reason == f"{active} invitee{'s' if active > 1 else ''} still active"


@pytest.mark.parametrize("counter", [None, {}, {"active": "1"}, {"active": -1}, {"active": True}, "1"])
def test_cancel_of_a_live_meeting_needs_a_readable_counter(counter: object) -> None:
    body = fixture("group_invitee_canceled_others_active")
    body["payload"]["scheduled_event"]["invitees_counter"] = counter
    assert rejected(body).field == "payload.scheduled_event.invitees_counter.active"


# -- reschedule -------------------------------------------------------------------------------------------------


def test_reschedule_pair_maps_to_two_independent_bookings() -> None:
    cancel = parse_calendly(fixture("rescheduled_invitee_canceled"))
    create = parse_calendly(fixture("rescheduled_invitee_created"))
    assert (cancel.booking_id, cancel.action, cancel.skip_reason) == (ONE_ON_ONE, "cancel", None)
    assert (create.booking_id, create.action) == (MOVED_TO, "create")
    assert (create.start_time, create.end_time) == (DEC_1_0200 + DAY, DEC_1_0200 + DAY + HOUR)
    assert create.replaces is None and cancel.replaces is None
    # Different bookings, so neither delivery's outcome depends on the other having arrived first.
    assert cancel.booking_id != create.booking_id
    assert [parse_calendly(fixture(n)) for n in ("rescheduled_invitee_created", "rescheduled_invitee_canceled")] == [
        create,
        cancel,
    ]


# -- rejected shapes --------------------------------------------------------------------------------------------


def test_payload_without_scheduled_event_names_it_and_says_why() -> None:
    error = rejected(fixture("invitee_canceled_old_subscription"))
    assert error.field == "payload.scheduled_event"
    assert "subscription" in error.message


@pytest.mark.parametrize("end", ["2026-12-01T02:00:00.000000Z", "2026-12-01T01:59:59.000000Z"])
def test_zero_length_or_inverted_window_names_end_time(end: str) -> None:
    body = fixture("invitee_created")
    body["payload"]["scheduled_event"]["end_time"] = end
    assert rejected(body).field == "payload.scheduled_event.end_time"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("event"), "event"),
        (lambda b: b.update(payload=[]), "payload"),
        (lambda b: b["payload"].update(scheduled_event="x"), "payload.scheduled_event"),
        (lambda b: b["payload"]["scheduled_event"].pop("uri"), "payload.scheduled_event.uri"),
        (lambda b: b["payload"]["scheduled_event"].update(uri=12), "payload.scheduled_event.uri"),
        (lambda b: b["payload"]["scheduled_event"].update(uri="/"), "payload.scheduled_event.uri"),
        (lambda b: b["payload"]["scheduled_event"].pop("start_time"), "payload.scheduled_event.start_time"),
        (lambda b: b["payload"]["scheduled_event"].pop("end_time"), "payload.scheduled_event.end_time"),
        (
            lambda b: b["payload"]["scheduled_event"].update(start_time="2026-12-01 02:00"),
            "payload.scheduled_event.start_time",
        ),
        (lambda b: b["payload"]["scheduled_event"].update(event_type=3), "payload.scheduled_event.event_type"),
    ],
)
def test_missing_or_invalid_fields_are_rejected_by_path(mutate: Any, field: str) -> None:
    body = fixture("invitee_created")
    mutate(body)
    assert rejected(body).field == field


def test_a_body_that_is_not_an_object_is_rejected() -> None:
    assert rejected(["invitee.created"]).field == "body"


# -- other events -----------------------------------------------------------------------------------------------


def test_routing_form_submission_is_skipped() -> None:
    booking = parse_calendly(fixture("routing_form_submission_created"))
    assert booking.skip_reason == "event routing_form_submission.created needs no action"
    assert booking.booking_id == "2e4a6c8e-0a2c-4e6a-8c0e-4a6c8e0a2c4e"  # the submission: no meeting yet


def test_other_events_are_skipped_whatever_their_payload() -> None:
    no_show = {
        "event": "invitee_no_show.created",
        "payload": {"event": f"https://api.calendly.com/scheduled_events/{GROUP}"},
    }
    assert parse_calendly(no_show).booking_id == GROUP
    assert parse_calendly({"event": "event_type.updated", "payload": None}).booking_id == ""


# -- stream values ----------------------------------------------------------------------------------------------


def test_stream_values_from_tracking_and_answers() -> None:
    booking = parse_calendly(fixture("invitee_created_stream_values"))
    assert booking.stream == StreamFields(
        stream_name="room-42",  # tracking.utm_content wins over the "Stream name" answer
        domain_name="5000.live.push.com",
        app_name="classes",  # asked as "App Name?"
        stream_type=1,
        template_id=1001,
        region="ap-hongkong",
    )
    assert (booking.start_time, booking.end_time) == (
        DEC_1_0200 + 2 * DAY + 8 * HOUR,
        DEC_1_0200 + 2 * DAY + 9 * HOUR + 1800,
    )


def test_answers_alone_name_the_stream_and_blank_answers_are_not_given() -> None:
    body = fixture("invitee_created_stream_values")
    body["payload"]["tracking"]["utm_content"] = None
    body["payload"]["questions_and_answers"][6]["answer"] = "  "
    booking = parse_calendly(body)
    assert (booking.stream.stream_name, booking.stream.region) == ("answer-room", None)


@given(
    question=st.sampled_from(sorted(QUESTIONS)),
    upper=st.lists(st.booleans(), min_size=20, max_size=20),
    pad=st.sampled_from(["", " ", "  ", "\t"]),
    tail=st.sampled_from(["", "?", ":", " ?"]),
)
def test_questions_match_regardless_of_case_spacing_and_punctuation(
    question: str, upper: list[bool], pad: str, tail: str
) -> None:
    cased = "".join(c.upper() if flip else c for c, flip in zip(question, upper, strict=False))
    assert normalise_question(f"{pad}{cased.replace(' ', ' ' + pad)}{tail}{pad}") == question


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["questions_and_answers"][5].update(answer="ten"), "payload.questions_and_answers[5].answer"),
        (lambda p: p["questions_and_answers"][4].update(answer="0.5"), "payload.questions_and_answers[4].answer"),
        (lambda p: p["questions_and_answers"][2].update(answer=["a"]), "payload.questions_and_answers[2].answer"),
        (lambda p: p["tracking"].update(utm_content=42), "payload.tracking.utm_content"),
        (lambda p: p.update(tracking="utm"), "payload.tracking"),
        (lambda p: p.update(questions_and_answers={"Stream name": "x"}), "payload.questions_and_answers"),
    ],
)
def test_badly_typed_stream_values_name_their_path(mutate: Any, field: str) -> None:
    body = fixture("invitee_created_stream_values")
    mutate(body["payload"])
    assert rejected(body).field == field


def test_cancel_does_not_read_stream_values() -> None:
    body = fixture("invitee_canceled")
    body["payload"]["tracking"] = "not an object"
    assert parse_calendly(body).action == "cancel"


def test_optional_parts_may_be_absent_or_odd() -> None:
    body = fixture("invitee_created_stream_values")
    del body["payload"]["scheduled_event"]["event_type"]
    body["payload"]["tracking"] = None
    body["payload"]["questions_and_answers"][1:1] = [None, {"question": None, "answer": "x"}, {"answer": "y"}]
    booking = parse_calendly(body)
    assert booking.event_type is None
    assert booking.stream.stream_name == "answer-room"  # odd entries are passed over, not fatal
