"""Direct format parsing and the time rules every source shares."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from record_task.errors import InvalidBooking
from record_task.model.booking import Booking, StreamFields
from record_task.sources.direct import parse_direct
from record_task.sources.fields import parse_instant


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1764561600, 1764561600),
        (1764561600.0, 1764561600),
        ("2026-12-01T10:00:00+08:00", 1796090400),
        ("2026-12-01T02:00:00Z", 1796090400),
        ("2026-12-01T02:00:00.000Z", 1796090400),
        ("2026-12-01T02:00:00+00:00", 1796090400),
    ],
)
def test_accepted_times(value: object, seconds: int) -> None:
    assert parse_instant(value, "StartTime") == seconds


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2026-12-01T10:00:00", "no UTC offset"),
        (1764561600.5, "fraction"),
        (True, "boolean"),
        (1764561600000, "milliseconds"),
        ("tomorrow", "not UNIX seconds or an ISO 8601"),
        ([1], "not list"),
        (-5, "negative"),
        ("", "empty"),
    ],
)
def test_refused_times_say_why(value: object, says: str) -> None:
    with pytest.raises(InvalidBooking) as caught:
        parse_instant(value, "EndTime")
    assert caught.value.field == "EndTime"
    assert says in caught.value.message


def test_iso_fractions_round_outward() -> None:
    assert parse_instant("2026-12-01T02:00:00.400Z", "StartTime") == 1796090400
    assert parse_instant("2026-12-01T02:00:00.400Z", "EndTime", round_up=True) == 1796090401


@given(st.integers(0, 99_999_999_999))
def test_any_seconds_value_round_trips(seconds: int) -> None:
    assert parse_instant(seconds, "StartTime") == seconds


def test_full_direct_booking() -> None:
    booking = parse_direct(
        {
            "BookingId": "b-123",
            "Action": "create",
            "StreamName": "room-42",
            "DomainName": "5000.live.push.com",
            "AppName": "live",
            "StartTime": "2026-12-01T10:00:00+08:00",
            "EndTime": 1764561600,
            "StreamType": 0,
            "TemplateId": 0,
            "Extension": "",
            "Region": "ap-singapore",
        }
    )
    assert booking == Booking(
        booking_id="b-123",
        source="direct",
        action="create",
        start_time=1796090400,
        end_time=1764561600,
        stream=StreamFields("room-42", "5000.live.push.com", "live", 0, 0, "", "ap-singapore"),
    )


def test_cancel_needs_only_the_booking_id() -> None:
    assert parse_direct({"BookingId": "b-1", "Action": "cancel"}) == Booking("b-1", "direct", "cancel")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"EndTime": 1764561600}, "BookingId"),
        ({"BookingId": "  ", "EndTime": 1764561600}, "BookingId"),
        ({"BookingId": "b", "Action": "move", "EndTime": 1764561600}, "Action"),
        ({"BookingId": "b"}, "EndTime"),
        ({"BookingId": "b", "EndTime": 1764561600, "StreamType": "zero"}, "StreamType"),
        ({"BookingId": "b", "EndTime": 1764561600, "TemplateId": True}, "TemplateId"),
        ({"BookingId": "b", "EndTime": 1764561600, "StreamName": 5}, "StreamName"),
        ({"BookingId": "b", "EndTime": 1764561600, "Streamname": "typo"}, "Streamname"),
        ({"BookingId": "b", "EndTime": "2026-12-01T10:00:00"}, "EndTime"),
    ],
)
def test_bad_direct_bodies_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidBooking) as caught:
        parse_direct(body)
    assert caught.value.field == field


def test_non_object_body_is_rejected() -> None:
    with pytest.raises(InvalidBooking, match="JSON object"):
        parse_direct(["BookingId"])


def test_booking_survives_a_round_trip_through_storage() -> None:
    booking = parse_direct({"BookingId": "b", "EndTime": 1764561600, "TemplateId": 3, "StreamType": 1})
    assert Booking.from_dict(booking.to_dict()) == booking


@pytest.mark.parametrize("field", ["BookingId", "StreamName", "Extension", "EventType"])
def test_a_lone_surrogate_is_rejected_naming_the_field(field: str) -> None:
    """JSON may spell half a UTF-16 pair; such text could never be stored, so it is refused up front."""
    body = {"BookingId": "b-1", "EndTime": 1796094000, field: "room\ud83d"}  # as json.loads reads the escape
    with pytest.raises(InvalidBooking) as caught:
        parse_direct(body)
    assert caught.value.field == field and "surrogate" in caught.value.message
