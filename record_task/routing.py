"""Which stream a booking records: the booking's own values, then its event type's route, then defaults.

Booking systems rarely know stream names, so the last step renders `STREAM_NAME_TEMPLATE` from the
booking. Templates are checked when settings load: an unknown field is a deployment error, not a
rejected booking.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from record_task.booking import Booking, StreamFields
from record_task.errors import ConfigurationError

if TYPE_CHECKING:
    from record_task.config import Settings

TEMPLATE_FIELDS = ("booking_id", "event_type", "source", "start", "end")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_STREAM_NAME = 256
_SAMPLE = {
    "booking_id": "b-1",
    "event_type": "demo",
    "source": "direct",
    "start": datetime(2026, 1, 1, tzinfo=UTC),
    "end": datetime(2026, 1, 1, 1, tzinfo=UTC),
}


def check_template(template: str, setting: str) -> None:
    """Refuse a template that names a field we do not have or cannot format."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ConfigurationError(f"{setting} {template!r} is not a valid template: {exc}") from None
    for name in names:
        if name not in TEMPLATE_FIELDS:
            raise ConfigurationError(
                f"{setting} {template!r} names unknown field {{{name}}}; known: "
                + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
            )
    try:
        template.format(**_SAMPLE)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{setting} {template!r} cannot be rendered: {exc}") from None


def render_stream_name(template: str, booking: Booking, now: int) -> str:
    """The template filled from the booking, reduced to the characters a stream name allows."""
    start = now if booking.start_time is None else booking.start_time
    values: dict[str, Any] = {
        "booking_id": booking.booking_id,
        "event_type": booking.event_type or "",
        "source": booking.source,
        "start": datetime.fromtimestamp(start, tz=UTC),
        "end": datetime.fromtimestamp(booking.end_time or start, tz=UTC),
    }
    return sanitize_stream_name(template.format(**values))


def sanitize_stream_name(name: str) -> str:
    """Letters, digits, `_` and `-` only; runs of anything else become one `-`."""
    return _UNSAFE.sub("-", name).strip("-")[:MAX_STREAM_NAME]


def resolve_stream(booking: Booking, settings: Settings, now: int) -> StreamFields:
    """Explicit booking values -> the route of its event type -> configured defaults."""
    route = settings.routes.get(booking.event_type or "", StreamFields())
    chosen = booking.stream.merged_over(route)
    if booking.stream.stream_name is None and route.stream_name is not None:
        chosen = StreamFields(**{**chosen.__dict__, "stream_name": render_stream_name(route.stream_name, booking, now)})
    defaults = StreamFields(
        stream_name=render_stream_name(settings.stream_name_template, booking, now),
        domain_name=settings.default_domain_name,
        app_name=settings.default_app_name,
        template_id=settings.default_template_id,
        region=settings.tencent_region,
    )
    return chosen.merged_over(defaults)
