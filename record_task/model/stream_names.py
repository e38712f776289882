"""Stream names: the `STREAM_NAME_TEMPLATE` (and route templates) checked at start and rendered per booking.

Booking systems rarely know stream names, so one is rendered from the booking. An unknown template
field is a deployment error (raised when settings load), not a rejected booking.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from typing import Any

from record_task.errors import ConfigurationError
from record_task.model.booking import Booking

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
