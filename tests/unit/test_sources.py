"""Source detection, dispatch, strict JSON and the booking id of a rejected body."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from record_task.errors import InvalidBooking
from record_task.model.booking import Booking, Source
from record_task.sources.bodies import parse_json_body, unwrap_sns
from record_task.sources.registry import BY_NAME, parse_bookings, rejection_hints, shape_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DIRECT = {"BookingId": "b-123", "StartTime": "2026-12-01T10:00:00+08:00", "EndTime": 1796094000}


def fixture(source: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / source / f"{name}.json").read_text())
    return body


SAMPLES: list[tuple[Source, dict[str, Any]]] = [
    ("direct", DIRECT),
    ("calcom", fixture("calcom", "booking_created")),
    ("calcom", fixture("calcom", "meeting_ended")),  # the flat shape
    ("calendly", fixture("calendly", "invitee_created")),
    ("calendly", fixture("calendly", "invitee_canceled_old_subscription")),
]


@pytest.mark.parametrize(("source", "body"), SAMPLES)
def test_the_shape_names_the_source(source: Source, body: dict[str, Any]) -> None:
    assert (shaped := shape_of(body)) is not None and shaped.name == source


@pytest.mark.parametrize(
    "body", [{}, [], "BookingId", None, 1, {"event": "invitee.created"}, {"payload": {}}, {"bookingId": "b"}]
)
def test_an_unknown_shape_is_not_a_booking(body: object) -> None:
    assert shape_of(body) is None
    with pytest.raises(InvalidBooking) as caught:
        parse_booking(body)
    assert caught.value.message == "body is not a booking in any supported format"
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    "fields", [{"EndTime": 1796094000}, {"StreamName": "room", "StartTime": 1}, {"Action": "cancel"}]
)
def test_direct_fields_without_a_booking_id_are_read_as_direct_and_name_it(fields: dict[str, Any]) -> None:
    assert (shaped := shape_of(fields)) is not None and shaped.name == "direct"
    with pytest.raises(InvalidBooking) as caught:
        parse_booking(fields)
    assert caught.value.field == "BookingId"


def test_an_sns_envelope_is_unwrapped_and_its_source_attribute_counts() -> None:
    envelope = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:bookings",
        "Message": json.dumps(DIRECT),
        "MessageAttributes": {"source": {"Type": "String", "Value": "direct"}},
    }
    body, source = unwrap_sns(envelope, None)
    assert (body, source) == (DIRECT, "direct")
    assert unwrap_sns(envelope, "calcom")[1] == "calcom"  # the SQS attribute wins over the envelope's
    assert unwrap_sns(DIRECT, None) == (DIRECT, None)
    with pytest.raises(InvalidBooking) as caught:
        unwrap_sns({**envelope, "Message": "{not json"}, None)
    assert caught.value.field == "Message"


def test_dispatch_by_shape_and_by_name() -> None:
    for name, body in [("booking_created", fixture("calcom", "booking_created"))]:
        assert parse_booking(body).source == parse_booking(body, "calcom").source == "calcom", name
    calendly = fixture("calendly", "invitee_created")
    assert parse_booking(calendly).source == parse_booking(calendly, "calendly").source == "calendly"
    direct = parse_booking(DIRECT)
    assert (direct.source, direct.booking_id, direct.end_time) == ("direct", "b-123", 1796094000)


@pytest.mark.parametrize(
    ("body", "named", "shaped"),
    [
        (DIRECT, "calcom", "direct"),
        (DIRECT, "calendly", "direct"),
        (fixture("calcom", "booking_created"), "calendly", "calcom"),
        (fixture("calcom", "booking_created"), "direct", "calcom"),
        (fixture("calendly", "invitee_created"), "calcom", "calendly"),
    ],
)
def test_a_body_shaped_like_another_source_is_refused(body: dict[str, Any], named: Source, shaped: str) -> None:
    with pytest.raises(InvalidBooking) as caught:
        parse_booking(body, named)
    assert caught.value.message == f"body has the {shaped} format but was sent as {named}"


def test_a_named_source_explains_what_its_own_format_lacks() -> None:
    with pytest.raises(InvalidBooking) as caught:
        parse_booking({}, "calcom")
    assert caught.value.field == "triggerEvent"
    with pytest.raises(InvalidBooking) as caught:
        parse_booking({"event": "invitee.created", "payload": {}}, "calendly")
    assert caught.value.field == "payload.scheduled_event"


# -- JSON -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b'{"a": [1, 2.5, null]}', '{"a": [1, 2.5, null]}', b'\t{"a":[1,2.5,null]}\n'])
def test_json_bodies_as_bytes_or_text(raw: bytes | str) -> None:
    assert parse_json_body(raw) == {"a": [1, 2.5, None]}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "Expecting value at line 1 column 1"),
        ("{", "line 1 column 2"),
        (b'{"a": 1}\xff', "not UTF-8"),
        (b"\xfe\xff\x00{", "not UTF-8"),
        ("NaN", "NaN is not a JSON value"),
        ('{"a": -Infinity}', "-Infinity is not a JSON value"),
        ("[" * 200_000, "nested too deeply"),
        ("9" * 5000, "body is not valid JSON"),
    ],
)
def test_anything_but_strict_json_is_invalid(raw: bytes | str, says: str) -> None:
    with pytest.raises(InvalidBooking) as caught:
        parse_json_body(raw)
    assert caught.value.message.startswith("body is not valid JSON: ")
    assert says in caught.value.message
    assert caught.value.field == "body"


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_parsing_any_input_ends_in_a_value_or_invalid_booking(raw: bytes | str) -> None:
    with contextlib.suppress(InvalidBooking):
        parse_json_body(raw)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_valid_json_round_trips(value: object) -> None:
    assert parse_json_body(json.dumps(value)) == value


# -- booking id of a rejected body ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "booking_id"),
    [
        (json.dumps({"BookingId": "b-9", "EndTime": "later"}), "b-9"),
        (json.dumps({"triggerEvent": "BOOKING_CREATED", "payload": {"uid": "u-1"}}), "u-1"),
        (json.dumps({"triggerEvent": "MEETING_ENDED", "uid": "u-2"}), "u-2"),
        (json.dumps(fixture("calendly", "invitee_created")), "0f6c1a3e-9b2d-4e7f-8a1c-3d5e7f9b1a2c"),
        (json.dumps(fixture("calendly", "invitee_canceled_old_subscription")), "0f6c1a3e-9b2d-4e7f-8a1c-3d5e7f9b1a2c"),
        (json.dumps({"BookingId": 5}), None),
        (json.dumps({"BookingId": "  "}), None),
        (json.dumps(["b-1"]), None),
        ("{not json", None),
        (b"\xff", None),
    ],
)
def test_booking_id_hint(raw: bytes | str, booking_id: str | None) -> None:
    assert rejection_hints(raw)[1] == booking_id
    if isinstance(raw, str):
        assert rejection_hints(raw.encode())[1] == booking_id


@given(st.binary(max_size=200) | st.text(max_size=200) | st.dictionaries(st.text(), st.text()).map(json.dumps))
def test_booking_id_hint_never_raises(raw: bytes | str) -> None:
    hint = rejection_hints(raw)[1]
    assert hint is None or (isinstance(hint, str) and hint.strip() == hint and hint)


def parse_booking(body: object, source: Source | None = None) -> Booking:
    """The one booking a body of the built-in sources carries."""
    (booking,) = parse_bookings(body, BY_NAME[source] if source else None)
    return booking
