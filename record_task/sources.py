"""Which booking source a body comes from, and the one parser every transport calls.

Each source has a distinct envelope, so the shape alone tells them apart: Cal.com's has
`triggerEvent`, Calendly's `event` beside `payload`, the direct format `BookingId`. When the source
is already known (the webhook route, the SQS `source` attribute), a body shaped like another source
is refused rather than parsed loosely: it is a misrouted or mislabelled delivery.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from record_task.booking import Booking, Source
from record_task.calcom import parse_calcom
from record_task.calendly import parse_calendly
from record_task.direct import parse_direct
from record_task.errors import InvalidBooking

PARSERS: dict[Source, Callable[[object], Booking]] = {
    "direct": parse_direct,
    "calcom": parse_calcom,
    "calendly": parse_calendly,
}


def _shape(body: object) -> Source | None:
    if not isinstance(body, dict):
        return None
    if "triggerEvent" in body:
        return "calcom"
    if "event" in body and "payload" in body:
        return "calendly"
    if "BookingId" in body:
        return "direct"
    return None


def detect_source(body: object) -> Source:
    """The source whose envelope the body has."""
    source = _shape(body)
    if source is None:
        raise InvalidBooking("body is not a booking in any supported format", field="body")
    return source


def parse_booking(body: object, source: Source | None = None) -> Booking:
    """The body as a booking: with the named source's parser, or the one its shape points to."""
    if source is None:
        return PARSERS[detect_source(body)](body)
    shaped = _shape(body)
    if shaped is not None and shaped != source:
        raise InvalidBooking(f"body has the {shaped} format but was sent as {source}", field="body")
    return PARSERS[source](body)


def parse_json_body(raw: bytes | str) -> object:
    """Strict JSON (UTF-8, no NaN/Infinity); anything else is an InvalidBooking, never another error."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidBooking(f"body is not valid JSON: not UTF-8 (byte {exc.start})", field="body") from None
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidBooking(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", field="body"
        ) from None
    except ValueError as exc:  # NaN/Infinity, or an integer longer than Python converts
        raise InvalidBooking(f"body is not valid JSON: {exc}", field="body") from None
    except RecursionError:
        raise InvalidBooking("body is not valid JSON: nested too deeply", field="body") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def rejection_hints(raw: bytes | str) -> tuple[Source | None, str | None]:
    """The source and booking id of a body that failed to parse, as far as they can be read; never
    raises. Lets a `rejected` result still say which booking, from which system, it was about."""
    try:
        body = parse_json_body(raw)
    except InvalidBooking:
        return None, None
    return _shape(body), _booking_id_in(body)


def booking_id_hint(raw: bytes | str) -> str | None:
    """The booking id of a body that failed to parse, as far as one can be read; never raises."""
    return rejection_hints(raw)[1]


def _booking_id_in(body: object) -> str | None:
    if not isinstance(body, dict):
        return None
    payload = body.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    scheduled = payload.get("scheduled_event")
    candidates = (
        body.get("BookingId"),
        payload.get("uid"),
        body.get("uid"),
        _last_segment(scheduled.get("uri") if isinstance(scheduled, dict) else None),
        _last_segment(payload.get("event")),  # a Calendly invitee names its scheduled event here too
    )
    return next((c.strip() for c in candidates if isinstance(c, str) and c.strip()), None)


def _last_segment(uri: object) -> str | None:
    return uri.rstrip("/").rsplit("/", 1)[-1] if isinstance(uri, str) else None
