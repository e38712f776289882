"""The direct format (CONTRACT section 2): `CreateRecordTask` parameters by API name plus identity."""

from __future__ import annotations

from typing import cast

from record_task.booking import (
    Action,
    Booking,
    StreamFields,
    optional_int,
    optional_text,
    parse_instant,
    require_text,
)
from record_task.errors import InvalidBooking

_KNOWN = {
    "BookingId",
    "Action",
    "StreamName",
    "DomainName",
    "AppName",
    "StartTime",
    "EndTime",
    "StreamType",
    "TemplateId",
    "Extension",
    "Region",
    "EventType",
}


def parse_direct(body: object) -> Booking:
    """Read and type-check a direct booking; API rules are the plan's job."""
    if not isinstance(body, dict):
        raise InvalidBooking("body must be a JSON object", field="body")
    unknown = sorted(set(body) - _KNOWN)
    if unknown:
        raise InvalidBooking(f"unknown field {unknown[0]!r}; allowed: {', '.join(sorted(_KNOWN))}", field=unknown[0])
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
        stream=StreamFields(
            stream_name=optional_text(body.get("StreamName"), "StreamName"),
            domain_name=optional_text(body.get("DomainName"), "DomainName"),
            app_name=optional_text(body.get("AppName"), "AppName"),
            stream_type=optional_int(body.get("StreamType"), "StreamType"),
            template_id=optional_int(body.get("TemplateId"), "TemplateId"),
            extension=optional_text(body.get("Extension"), "Extension"),
            region=optional_text(body.get("Region"), "Region"),
        ),
    )
