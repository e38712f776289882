"""The direct format (docs/contract.md, "Direct format"): `CreateRecordTask` parameters by API name plus identity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from record_task.errors import InvalidBooking
from record_task.model.booking import Action, Booking
from record_task.sources import signatures
from record_task.sources.fields import optional_text, parse_instant, require_text, stream_fields_from

# StreamFields attribute -> its API name in the body.
STREAM_KEYS = {
    "stream_name": "StreamName",
    "domain_name": "DomainName",
    "app_name": "AppName",
    "stream_type": "StreamType",
    "template_id": "TemplateId",
    "extension": "Extension",
    "region": "Region",
}
FIELDS = frozenset({"BookingId", "Action", "StartTime", "EndTime", "EventType", *STREAM_KEYS.values()})


def parse_direct(body: object) -> Booking:
    """Read and type-check a direct booking; API rules are the plan's job."""
    if not isinstance(body, dict):
        raise InvalidBooking("body must be a JSON object", field="body")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidBooking(f"unknown field {unknown[0]!r}; allowed: {', '.join(sorted(FIELDS))}", field=unknown[0])
    booking_id = require_text(body.get("BookingId"), "BookingId")
    action = body.get("Action", "create")
    if action not in ("create", "cancel"):
        raise InvalidBooking("Action must be 'create' or 'cancel'", field="Action")
    if action == "cancel":
        return Booking(booking_id=booking_id, source="direct", action="cancel")
    start = body.get("StartTime")
    end = body.get("EndTime")
    if end is None:
        raise InvalidBooking("EndTime is required for create", field="EndTime")
    return Booking(
        booking_id=booking_id,
        source="direct",
        action=cast(Action, action),
        start_time=None if start is None else parse_instant(start, "StartTime"),
        end_time=parse_instant(end, "EndTime", round_up=True),
        event_type=optional_text(body.get("EventType"), "EventType"),
        stream=stream_fields_from(lambda attribute: (body.get(STREAM_KEYS[attribute]), STREAM_KEYS[attribute])),
    )


def check(raw: bytes, headers: Mapping[str, str], secret: str, now: int, tolerance: int) -> None:
    """The route's signature check (`record_task.sources.registry`)."""
    signatures.verify_direct(raw, headers.get("x-signature-256"), secret)


def has_shape(body: dict[str, Any]) -> bool:
    """Any direct-format field makes it the direct format (so a missing `BookingId` is named)."""
    return bool(FIELDS.intersection(body))


def parse_all(body: object) -> tuple[Booking, ...]:
    return (parse_direct(body),)


def booking_id_hint(body: dict[str, Any]) -> str | None:
    value = body.get("BookingId")
    return value if isinstance(value, str) else None
