"""Calendly webhooks (API v2) turned into a `Booking`.

Calendly reports invitees, but a recording belongs to the meeting, so everything is keyed on the
scheduled event the invitee belongs to:

- Envelope `{event, created_at, created_by, payload}`; `payload` is the invitee, with the meeting
  embedded as `payload.scheduled_event`. Subscriptions from before Calendly embedded it send the
  invitee alone; those are rejected naming `payload.scheduled_event` (recreate the subscription).
- Booking id: the last path segment of `payload.scheduled_event.uri` (the scheduled event's UUID).
- Window: `payload.scheduled_event.start_time` / `end_time` (ISO 8601 UTC, microseconds, `Z`).
- `invitee.created` creates. A second invitee of a group event maps to the same booking id, so the
  ledger answers it as a duplicate, never a second task.
- `invitee.canceled` cancels only when the meeting itself is over: `scheduled_event.status` is
  `canceled` or `scheduled_event.invitees_counter.active` is 0. Otherwise others still attend and
  the event is skipped ("N invitees still active").
- A reschedule arrives as two deliveries: `invitee.canceled` with `rescheduled: true` and
  `new_invitee` on the old scheduled event, and `invitee.created` with `old_invitee` on a new
  scheduled event. Each is keyed on its own scheduled event, so they are independent: the cancel
  ends the old meeting's tasks (or is skipped if others remain in a group event), the create records
  the new one, in whichever order they arrive. `old_invitee`/`new_invitee` are therefore not read,
  and `replaces` is never set: cancelling the old meeting from the create would end a group event
  that other invitees still attend.
- Other events (`routing_form_submission.created`, `invitee_no_show.created`, ...) are skipped.
- Event type (selects a route): the UUID at the end of `scheduled_event.event_type`. The payload has
  no slug, and the display name (`scheduled_event.name`) is neither unique nor stable: renaming an
  event type must not silently change which stream it records.
- Stream values: `payload.tracking.utm_content` is the stream name (the host puts it in the booking
  link, `?utm_content=room-42`; the other UTM fields keep their marketing meaning). Answers in
  `payload.questions_and_answers` are matched on the question text, case and surrounding spaces and
  a trailing `?`/`:` ignored (`QUESTIONS`). Tracking wins over an invitee's answer; blank answers
  count as not given. A cancellation reads neither, nor the event type: nothing is routed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from record_task.errors import InvalidBooking
from record_task.model.booking import Booking, StreamFields
from record_task.sources import signatures
from record_task.sources.fields import (
    is_blank,
    last_segment,
    optional_text,
    require_text,
    required_window,
    stream_fields_from,
)

CREATED = "invitee.created"
CANCELED = "invitee.canceled"

# Normalised question text -> StreamFields attribute.
QUESTIONS: dict[str, str] = {
    "stream name": "stream_name",
    "stream domain": "domain_name",
    "domain name": "domain_name",
    "app name": "app_name",
    "stream type": "stream_type",
    "template id": "template_id",
    "extension": "extension",
    "region": "region",
}
_EVENT = "payload.scheduled_event"


def parse_calendly(payload: object) -> Booking:
    """One Calendly delivery as a booking action; InvalidBooking names the offending field by its path."""
    if not isinstance(payload, dict):
        raise InvalidBooking("a Calendly webhook body must be a JSON object", field="body")
    event = require_text(payload.get("event"), "event")
    invitee = payload.get("payload")
    if event not in (CREATED, CANCELED):
        return _skipped(event, payload)
    if not isinstance(invitee, dict):
        raise InvalidBooking(f"payload is required for {event} and must be an object", field="payload")
    scheduled = invitee.get("scheduled_event")
    if scheduled is None:
        raise InvalidBooking(
            f"{_EVENT} is missing: webhook subscriptions created before Calendly embedded the scheduled event "
            "in invitee payloads do not send it; delete and recreate the subscription",
            field=_EVENT,
        )
    if not isinstance(scheduled, dict):
        raise InvalidBooking(f"{_EVENT} must be an object", field=_EVENT)
    booking_id = _id_in(require_text(scheduled.get("uri"), f"{_EVENT}.uri", 1024), f"{_EVENT}.uri")
    if event == CANCELED:
        remaining = _active_invitees(scheduled)
        if remaining:
            return Booking(
                booking_id=booking_id,
                source="calendly",
                action="cancel",
                trigger=event,
                skip_reason=f"{remaining} invitee{'s' if remaining != 1 else ''} still active",
            )
        return Booking(booking_id=booking_id, source="calendly", action="cancel", trigger=event)
    window = required_window(scheduled, _EVENT, "start_time", "end_time")
    return Booking.booked(booking_id, "calendly", event, window, _stream(invitee), _event_type(scheduled))


def _id_in(uri: str, path: str) -> str:
    segment = last_segment(uri)
    if not segment:
        raise InvalidBooking(f"{path} must end with the resource's id", field=path)
    return require_text(segment, path)


def _event_type(scheduled: dict[str, Any]) -> str | None:
    uri = optional_text(scheduled.get("event_type"), f"{_EVENT}.event_type", 1024)
    if uri is None or not uri.strip():
        return None
    return _id_in(uri, f"{_EVENT}.event_type")


def _active_invitees(scheduled: dict[str, Any]) -> int:
    """Invitees still attending; 0 once the meeting itself is canceled."""
    if scheduled.get("status") == "canceled":
        return 0
    counter = scheduled.get("invitees_counter")
    path = f"{_EVENT}.invitees_counter.active"
    active = counter.get("active") if isinstance(counter, dict) else None
    if isinstance(active, bool) or not isinstance(active, int) or active < 0:
        raise InvalidBooking(
            f"{path} must be a non-negative integer when {_EVENT}.status is not 'canceled'", field=path
        )
    return active


def normalise_question(text: str) -> str:
    """`"  Stream Name? "` -> `"stream name"`: how questions are matched against `QUESTIONS`."""
    return " ".join(text.split()).rstrip("?:").strip().casefold()


def _stream(invitee: dict[str, Any]) -> StreamFields:
    found: dict[str, tuple[object, str]] = {}
    answers = invitee.get("questions_and_answers")
    if answers is not None and not isinstance(answers, list):
        raise InvalidBooking("payload.questions_and_answers must be a list", field="payload.questions_and_answers")
    for index, item in enumerate(answers or []):
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            continue
        attribute = QUESTIONS.get(normalise_question(item["question"]))
        answer = item.get("answer")
        if attribute and attribute not in found and not is_blank(answer):
            found[attribute] = (answer, f"payload.questions_and_answers[{index}].answer")
    tracking = invitee.get("tracking")
    if tracking is not None and not isinstance(tracking, dict):
        raise InvalidBooking("payload.tracking must be an object", field="payload.tracking")
    content = (tracking or {}).get("utm_content")
    if not is_blank(content):
        found["stream_name"] = (content, "payload.tracking.utm_content")

    return stream_fields_from(lambda attribute: found.get(attribute, (None, "")))


def booking_id_hint(body: dict[str, Any]) -> str | None:
    """The scheduled event's id wherever a Calendly shape keeps it, for results about bodies not fully read."""
    invitee = body.get("payload")
    if not isinstance(invitee, dict):
        return None
    scheduled = invitee.get("scheduled_event")
    candidates = (
        scheduled.get("uri") if isinstance(scheduled, dict) else None,
        invitee.get("event"),  # the invitee's scheduled event, on no-show payloads
        invitee.get("uri"),  # e.g. the routing form submission
    )
    return next((last_segment(c) for c in candidates if isinstance(c, str) and last_segment(c)), None)


def _skipped(event: str, body: dict[str, Any]) -> Booking:
    """An event that needs no recording change; the id is whatever the shape offers ("" when none)."""
    booking_id = optional_text(booking_id_hint(body), f"{_EVENT}.uri") or ""
    return Booking(
        booking_id=booking_id, source="calendly", trigger=event, skip_reason=f"event {event} needs no action"
    )


def check(raw: bytes, headers: Mapping[str, str], secret: str, now: int, tolerance: int) -> None:
    """The route's signature check (`record_task.sources.registry`): `t` within `tolerance` of `now`."""
    header = headers.get("calendly-webhook-signature")
    signatures.verify_calendly(raw, header, secret, now=now, tolerance_seconds=tolerance)


def has_shape(body: dict[str, Any]) -> bool:
    return "event" in body and "payload" in body


def parse_all(body: object) -> tuple[Booking, ...]:
    return (parse_calendly(body),)
