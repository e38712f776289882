"""Cal.com webhooks (payload version 2021-10-20) turned into a `Booking`.

What is read, and why:

- Envelope `{triggerEvent, createdAt, payload}`. `MEETING_STARTED`/`MEETING_ENDED` come flat instead
  (the booking record at the top level, beside `triggerEvent`, no `payload`); they need no action anyway.
- Booking id: `payload.uid`, the booking's public UID (the numeric `bookingId` is an internal row id).
- Window: `payload.startTime` / `payload.endTime`, ISO 8601 in UTC (`Z`, `+00:00` and `.000Z` all occur).
- `BOOKING_CREATED` creates; `BOOKING_CANCELLED` cancels (no window needed: the ledger knows the tasks);
  `BOOKING_RESCHEDULED` creates under the new `payload.uid` and names the old booking in
  `payload.rescheduleUid`, whose tasks the service cancels first. Every other trigger (`PING`,
  `BOOKING_REQUESTED`, `BOOKING_REJECTED`, `BOOKING_PAID`, `MEETING_ENDED`, `FORM_SUBMITTED`, ...) is
  skipped, never rejected: Cal.com would only keep resending it. A request that needs confirmation
  is recorded once confirmed, because Cal.com then sends `BOOKING_CREATED`.
- Event type (selects a route): `payload.type`, the event type slug. It is readable in `ROUTES` and
  in `STREAM_NAME_TEMPLATE` (`{event_type}`), unlike the numeric `eventTypeId`.
- Stream values under the keys `streamName`, `domainName`, `appName`, `streamType`, `templateId`,
  `extension`, `region`: from `payload.metadata` (set through the booking API or with
  `?metadata[streamName]=...` on the booking link, so the host controls it) and from
  `payload.responses` (booking questions whose identifier is the key; answers arrive as
  `{"label", "value"}` or plain). Metadata wins over an invitee's answer; blank values count as not
  given. A cancellation reads none of them, nor the event type: nothing is routed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from record_task.errors import InvalidBooking
from record_task.model.booking import Booking, StreamFields
from record_task.sources import signatures
from record_task.sources.fields import is_blank, optional_text, require_text, required_window, stream_fields_from

# Stream attribute -> the metadata / responses key read for it.
STREAM_KEYS = {
    "stream_name": "streamName",
    "domain_name": "domainName",
    "app_name": "appName",
    "stream_type": "streamType",
    "template_id": "templateId",
    "extension": "extension",
    "region": "region",
}
CREATED = "BOOKING_CREATED"
RESCHEDULED = "BOOKING_RESCHEDULED"
CANCELLED = "BOOKING_CANCELLED"


def parse_calcom(payload: object) -> Booking:
    """One Cal.com delivery as a booking action; InvalidBooking names the offending field by its path."""
    if not isinstance(payload, dict):
        raise InvalidBooking("a Cal.com webhook body must be a JSON object", field="body")
    trigger = require_text(payload.get("triggerEvent"), "triggerEvent")
    if trigger not in (CREATED, RESCHEDULED, CANCELLED):
        return _skipped(trigger, payload)
    data = payload.get("payload")
    if not isinstance(data, dict):
        raise InvalidBooking(f"payload is required for {trigger} and must be an object", field="payload")
    uid = require_text(data.get("uid"), "payload.uid")
    if trigger == CANCELLED:
        return Booking(booking_id=uid, source="calcom", action="cancel", trigger=trigger)
    window = required_window(data, "payload", "startTime", "endTime")
    replaces = None
    if trigger == RESCHEDULED:
        replaces = require_text(data.get("rescheduleUid"), "payload.rescheduleUid")
        if replaces == uid:  # nothing to cancel: the booking kept its UID
            replaces = None
    return Booking.booked(uid, "calcom", trigger, window, _stream(data), _event_type(data), replaces)


def _event_type(data: dict[str, Any]) -> str | None:
    slug = optional_text(data.get("type"), "payload.type")
    if slug is None or not slug.strip():
        return None
    return slug.strip()


def _stream(data: dict[str, Any]) -> StreamFields:
    metadata = _object(data.get("metadata"), "payload.metadata")
    responses = _object(data.get("responses"), "payload.responses")

    def pick(attribute: str) -> tuple[object, str]:
        key = STREAM_KEYS[attribute]
        value, path = metadata.get(key), f"payload.metadata.{key}"
        if is_blank(value):
            value, path = _answer(responses.get(key), f"payload.responses.{key}")
        return (None if is_blank(value) else value), path

    return stream_fields_from(pick)


def _answer(response: object, path: str) -> tuple[object, str]:
    """A booking answer, whether sent as `{"label", "value"}` or as the bare value."""
    if isinstance(response, dict):
        return response.get("value"), f"{path}.value"
    return response, path


def _object(value: object, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidBooking(f"{path} must be an object", field=path)
    return value


def booking_id_hint(body: dict[str, Any]) -> str | None:
    """The booking uid wherever a Cal.com shape keeps it, for results about bodies not fully read."""
    data = body.get("payload")
    candidates: list[object] = [body.get("uid")]  # the flat MEETING_* shape
    if isinstance(data, dict):
        booking = data.get("booking")
        candidates = [
            data.get("uid"),
            data.get("bookingUid"),  # BOOKING_NO_SHOW_UPDATED, AFTER_*_CAL_VIDEO_NO_SHOW
            booking.get("uid") if isinstance(booking, dict) else None,  # WRONG_ASSIGNMENT_REPORT
            *candidates,
        ]
    return next((c.strip() for c in candidates if isinstance(c, str) and c.strip()), None)


def _skipped(trigger: str, body: dict[str, Any]) -> Booking:
    """A trigger that needs no recording change; the id is whatever the shape offers ("" when none)."""
    booking_id = optional_text(booking_id_hint(body), "payload.uid") or ""
    return Booking(
        booking_id=booking_id, source="calcom", trigger=trigger, skip_reason=f"trigger {trigger} needs no action"
    )


def check(raw: bytes, headers: Mapping[str, str], secret: str, now: int, tolerance: int) -> None:
    """The route's signature check (`record_task.sources.registry`)."""
    signatures.verify_calcom(raw, headers.get("x-cal-signature-256"), secret)


def has_shape(body: dict[str, Any]) -> bool:
    return "triggerEvent" in body


def parse_all(body: object) -> tuple[Booking, ...]:
    return (parse_calcom(body),)
