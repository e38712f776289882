"""Cal.com webhook bodies (published 2021-10-20 shapes, see tests/fixtures/calcom) as bookings."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from record_task.errors import InvalidBooking
from record_task.model.booking import StreamFields
from record_task.sources.calcom import parse_calcom

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "calcom"
DEC_1_0200 = 1796090400  # 2026-12-01T02:00:00Z
HOUR = 3600
DAY = 24 * HOUR


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def created(**payload: Any) -> dict[str, Any]:
    """The BOOKING_CREATED fixture with payload fields replaced (None removes one)."""
    body = fixture("booking_created")
    for key, value in payload.items():
        if value is None:
            body["payload"].pop(key, None)
        else:
            body["payload"][key] = value
    return body


def rejected_field(body: object) -> str | None:
    with pytest.raises(InvalidBooking) as caught:
        parse_calcom(body)
    return caught.value.field


# -- the three triggers that act --------------------------------------------------------------------------------


def test_booking_created_is_a_create_for_the_booking_uid() -> None:
    booking = parse_calcom(fixture("booking_created"))
    assert booking.booking_id == "qX4nT2vRbZ8hWkLm5PcD1s"
    assert (booking.source, booking.action, booking.trigger) == ("calcom", "create", "BOOKING_CREATED")
    assert (booking.start_time, booking.end_time) == (DEC_1_0200, DEC_1_0200 + HOUR)
    assert booking.event_type == "live-yoga"
    assert booking.stream == StreamFields()  # only videoCallUrl in metadata, no stream questions
    assert booking.replaces is None and booking.skip_reason is None


def test_booking_rescheduled_creates_the_new_uid_and_replaces_the_old() -> None:
    booking = parse_calcom(fixture("booking_rescheduled"))
    assert booking.booking_id == "mR7pQ3sLw9YcV2nHk6JdF0"
    assert booking.replaces == "qX4nT2vRbZ8hWkLm5PcD1s"
    assert (booking.action, booking.trigger) == ("create", "BOOKING_RESCHEDULED")
    assert (booking.start_time, booking.end_time) == (DEC_1_0200 + DAY, DEC_1_0200 + DAY + HOUR)


def test_booking_cancelled_is_a_cancel_that_needs_no_window() -> None:
    body = fixture("booking_cancelled")
    booking = parse_calcom(body)
    assert (booking.booking_id, booking.action, booking.trigger) == (
        "mR7pQ3sLw9YcV2nHk6JdF0",
        "cancel",
        "BOOKING_CANCELLED",
    )
    assert booking.skip_reason is None
    del body["payload"]["startTime"], body["payload"]["endTime"]
    assert parse_calcom(body).action == "cancel"


def test_reschedule_keeping_its_uid_replaces_nothing() -> None:
    body = fixture("booking_rescheduled")
    body["payload"]["rescheduleUid"] = body["payload"]["uid"]
    assert parse_calcom(body).replaces is None


def test_reschedule_without_the_old_uid_is_rejected() -> None:
    body = fixture("booking_rescheduled")
    del body["payload"]["rescheduleUid"]
    assert rejected_field(body) == "payload.rescheduleUid"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z"),
        ("2026-12-01T02:00:00+00:00", "2026-12-01T03:00:00+00:00"),
        ("2026-12-01T02:00:00.000Z", "2026-12-01T03:00:00.000Z"),
        ("2026-12-01T10:00:00+08:00", "2026-12-01T11:00:00+08:00"),
    ],
)
def test_every_utc_form_cal_com_sends_gives_the_same_window(start: str, end: str) -> None:
    booking = parse_calcom(created(startTime=start, endTime=end))
    assert (booking.start_time, booking.end_time) == (DEC_1_0200, DEC_1_0200 + HOUR)


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets),
    length=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3)),
    zulu=st.booleans(),
)
def test_window_is_read_exactly_and_widened_outward(start: datetime, length: timedelta, zulu: bool) -> None:
    end = start + length

    def text(moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if zulu else moment.isoformat()

    booking = parse_calcom(created(startTime=text(start), endTime=text(end)))
    assert booking.start_time == math.floor(start.timestamp())
    assert booking.end_time == math.ceil(end.timestamp())


# -- stream values ----------------------------------------------------------------------------------------------


def test_stream_values_from_metadata_win_over_booking_answers() -> None:
    booking = parse_calcom(fixture("booking_created_stream_values"))
    assert booking.stream == StreamFields(
        stream_name="room-42",  # metadata; the answer "answer-room" loses
        domain_name="5000.live.push.com",
        app_name="classes",  # only answered
        stream_type=1,  # "1" from a form
        template_id=1001,
        region=None,  # answered blank: not given
    )
    assert (booking.start_time, booking.end_time) == (
        DEC_1_0200 + 2 * DAY + 8 * HOUR,
        DEC_1_0200 + 2 * DAY + 9 * HOUR + 1800,
    )


def test_plain_answers_and_blank_metadata_fall_through() -> None:
    body = created(
        metadata={"streamName": "  ", "region": "ap-tokyo"},
        responses={"streamName": "plain-room", "templateId": 7, "extension": {"label": "x", "value": "ext"}},
    )
    assert parse_calcom(body).stream == StreamFields(
        stream_name="plain-room", template_id=7, extension="ext", region="ap-tokyo"
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"metadata": ["streamName"]}, "payload.metadata"),
        ({"metadata": {"streamName": 42}}, "payload.metadata.streamName"),
        ({"metadata": {"templateId": "abc"}}, "payload.metadata.templateId"),
        ({"metadata": {"streamType": True}}, "payload.metadata.streamType"),
        ({"responses": "name"}, "payload.responses"),
        ({"responses": {"templateId": {"label": "Template", "value": "1.5"}}}, "payload.responses.templateId.value"),
        ({"responses": {"streamName": ["a", "b"]}}, "payload.responses.streamName"),
        (
            {"responses": {"domainName": {"label": "Domain", "value": {"value": "x"}}}},
            "payload.responses.domainName.value",
        ),
        ({"type": 5}, "payload.type"),
    ],
)
def test_badly_typed_stream_values_name_their_path(payload: dict[str, Any], field: str) -> None:
    assert rejected_field(created(**payload)) == field


# -- malformed bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("triggerEvent"), "triggerEvent"),
        (lambda b: b.update(triggerEvent=7), "triggerEvent"),
        (lambda b: b.pop("payload"), "payload"),
        (lambda b: b.update(payload="x"), "payload"),
        (lambda b: b["payload"].pop("uid"), "payload.uid"),
        (lambda b: b["payload"].update(uid=4411), "payload.uid"),
        (lambda b: b["payload"].update(uid=" "), "payload.uid"),
        (lambda b: b["payload"].pop("startTime"), "payload.startTime"),
        (lambda b: b["payload"].pop("endTime"), "payload.endTime"),
        (lambda b: b["payload"].update(endTime="soon"), "payload.endTime"),
        (lambda b: b["payload"].update(startTime="2026-12-01T02:00:00"), "payload.startTime"),
        (lambda b: b["payload"].update(endTime=b["payload"]["startTime"]), "payload.endTime"),
        (lambda b: b["payload"].update(endTime="2026-12-01T01:00:00Z"), "payload.endTime"),
    ],
)
def test_missing_or_invalid_fields_are_rejected_by_path(mutate: Any, field: str) -> None:
    body = fixture("booking_created")
    mutate(body)
    assert rejected_field(body) == field


@pytest.mark.parametrize("body", [[], "BOOKING_CREATED", None, 3])
def test_a_body_that_is_not_an_object_is_rejected(body: object) -> None:
    assert rejected_field(body) == "body"


# -- triggers that need no action -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "trigger", "booking_id"),
    [
        ("meeting_started", "MEETING_STARTED", "qX4nT2vRbZ8hWkLm5PcD1s"),  # flat shape
        ("meeting_ended", "MEETING_ENDED", "qX4nT2vRbZ8hWkLm5PcD1s"),  # flat shape
        ("booking_requested", "BOOKING_REQUESTED", "Hk2LpQ9xZ4wN7rTb3VmC8a"),
        ("booking_no_show_updated", "BOOKING_NO_SHOW_UPDATED", "qX4nT2vRbZ8hWkLm5PcD1s"),
        ("form_submitted", "FORM_SUBMITTED", ""),
        ("ping", "PING", ""),
    ],
)
def test_other_triggers_are_skipped_with_whatever_id_they_carry(name: str, trigger: str, booking_id: str) -> None:
    booking = parse_calcom(fixture(name))
    assert (booking.booking_id, booking.trigger, booking.source) == (booking_id, trigger, "calcom")
    assert booking.skip_reason == f"trigger {trigger} needs no action"


def test_skipped_triggers_are_not_validated() -> None:
    body = copy.deepcopy(fixture("meeting_ended"))
    body["startTime"] = "not a time"
    assert parse_calcom(body).skip_reason
    nested = {"triggerEvent": "WRONG_ASSIGNMENT_REPORT", "payload": {"booking": {"uid": "abc123"}}}
    assert parse_calcom(nested).booking_id == "abc123"
    assert parse_calcom({"triggerEvent": "RECORDING_READY", "payload": None}).booking_id == ""


def test_optional_parts_may_be_absent() -> None:
    booking = parse_calcom(created(type=None, metadata=None, responses=None))
    assert (booking.event_type, booking.stream) == (None, StreamFields())
    assert parse_calcom(created(type="  ")).event_type is None


def test_a_cancellation_reads_nothing_it_does_not_need() -> None:
    body = fixture("booking_cancelled")
    body["payload"].update(type=5, metadata="x", responses=[], startTime="whenever")
    booking = parse_calcom(body)
    assert (booking.action, booking.event_type, booking.stream) == ("cancel", None, StreamFields())
