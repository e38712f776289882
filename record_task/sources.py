"""Which booking source a body comes from, and the one parser every transport calls.

Each source has a distinct envelope, so the shape alone tells them apart: Cal.com's has
`triggerEvent`, Calendly's `event` beside `payload`, the direct format any of its own fields. When the
source is already known (the webhook route, the SQS `source` attribute), a body shaped like another
source is refused rather than parsed loosely: it is a misrouted or mislabelled delivery.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from record_task import calcom, calendly, direct
from record_task.booking import Booking, Source, has_lone_surrogate
from record_task.errors import InvalidBooking

PARSERS: dict[Source, Callable[[object], Booking]] = {
    "direct": direct.parse_direct,
    "calcom": calcom.parse_calcom,
    "calendly": calendly.parse_calendly,
}
_HINTS: dict[Source, Callable[[dict[str, Any]], str | None]] = {
    "direct": lambda body: body.get("BookingId") if isinstance(body.get("BookingId"), str) else None,
    "calcom": calcom.booking_id_hint,
    "calendly": calendly.booking_id_hint,
}


def shape_of(body: object) -> Source | None:
    """The source whose envelope the body has, if any."""
    if not isinstance(body, dict):
        return None
    if "triggerEvent" in body:
        return "calcom"
    if "event" in body and "payload" in body:
        return "calendly"
    if direct.FIELDS.intersection(body):
        return "direct"
    return None


def parse_booking(body: object, source: Source | None = None) -> Booking:
    """The body as a booking: with the named source's parser, or the one its shape points to."""
    shaped = shape_of(body)
    if source is None:
        if shaped is None:
            raise InvalidBooking("body is not a booking in any supported format", field="body")
        return PARSERS[shaped](body)
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
        body = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidBooking(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", field="body"
        ) from None
    except ValueError as exc:  # NaN/Infinity, or an integer longer than Python converts
        raise InvalidBooking(f"body is not valid JSON: {exc}", field="body") from None
    except RecursionError:
        raise InvalidBooking("body is not valid JSON: nested too deeply", field="body") from None
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def unwrap_sns(body: object, source: str | None) -> tuple[object, str | None]:
    """An SNS `Notification` envelope (SNS -> SQS without raw delivery) as its message and `source`.

    The envelope's `MessageAttributes.source` counts as the SQS message attribute; a message that is
    not JSON is rejected naming `Message`.
    """
    if not (isinstance(body, dict) and body.get("Type") == "Notification" and isinstance(body.get("Message"), str)):
        return body, source
    attributes = body.get("MessageAttributes")
    attribute = attributes.get("source") if isinstance(attributes, dict) else None
    if source is None and isinstance(attribute, dict) and isinstance(attribute.get("Value"), str):
        source = attribute["Value"]
    try:
        return parse_json_body(body["Message"]), source
    except InvalidBooking as exc:
        raise InvalidBooking(exc.message.replace("body", "Message", 1), field="Message") from None


def rejection_hints(raw: bytes | str) -> tuple[Source | None, str | None]:
    """The source and booking id of a body that failed to parse, as far as they can be read; never
    raises. Lets a `rejected` result still say which booking, from which system, it was about."""
    try:
        body, _ = unwrap_sns(parse_json_body(raw), None)
    except InvalidBooking:
        return None, None
    source = shape_of(body)
    if source is None or not isinstance(body, dict):
        return source, None
    hint = _HINTS[source](body)
    return source, (hint.strip() or None) if isinstance(hint, str) and not has_lone_surrogate(hint) else None
