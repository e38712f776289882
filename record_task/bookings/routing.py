"""Which stream a booking records: the booking's own values, then its event type's route, then defaults."""

from __future__ import annotations

from dataclasses import replace

from record_task.config import StreamDefaults
from record_task.model.booking import Booking, StreamFields
from record_task.model.stream_names import render_stream_name


def resolve_stream(booking: Booking, defaults: StreamDefaults, now: int) -> StreamFields:
    """Explicit booking values -> the route of its event type -> configured defaults."""
    route = defaults.routes.get(booking.event_type or "", StreamFields())
    chosen = booking.stream.merged_over(route)
    if booking.stream.stream_name is None and route.stream_name is not None:
        chosen = replace(chosen, stream_name=render_stream_name(route.stream_name, booking, now))
    fallback = StreamFields(
        stream_name=render_stream_name(defaults.name_template, booking, now),
        domain_name=defaults.domain_name,
        app_name=defaults.app_name,
        template_id=defaults.template_id,
        region=defaults.region,
    )
    return chosen.merged_over(fallback)
