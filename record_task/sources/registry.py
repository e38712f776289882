"""The booking sources, one record each: the HTTP routes, queue detection, the closed-by-default check
and the secret settings are all derived from `SOURCES`. Adding a source is a module and one entry.

Each source has a distinct envelope, so the shape alone tells them apart (the first match in
`SOURCES` order wins). When the source is already known (the webhook route, the SQS `source`
attribute), a body shaped like another source is refused rather than parsed loosely: it is a
misrouted or mislabelled delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from record_task.errors import InvalidBooking, SignatureError
from record_task.model.booking import Booking, Source
from record_task.sources import calcom, calendly, direct
from record_task.sources.bodies import parse_json_body, unwrap_sns
from record_task.sources.fields import has_lone_surrogate

Headers = Mapping[str, str]  # by lower-case name
Check = Callable[[bytes, Headers, str, int, int], None]  # raw body, headers, secret, now, tolerance


@dataclass(frozen=True)
class BookingSource:
    """Everything the transports need to know of one booking system."""

    name: Source
    path: str  # its webhook route (POST)
    secret_setting: str  # the environment variable holding its secret: unset, the route answers 401
    check: Check  # raises SignatureError unless the body is signed with the secret
    has_shape: Callable[[dict[str, Any]], bool]  # whether a body is in this source's envelope
    parse: Callable[[object], tuple[Booking, ...]]  # one message may carry several bookings
    booking_id_hint: Callable[[dict[str, Any]], str | None]  # the id of a body that failed to parse

    def verify(self, raw: bytes, headers: Headers, secret: str | None, now: int, tolerance: int) -> None:
        """The route's check, closed by default: no secret configured refuses every delivery."""
        if not secret:
            raise SignatureError(f"{self.secret_setting} is not configured, so {self.path} refuses every delivery")
        self.check(raw, headers, secret, now, tolerance)


# One entry per booking source; its module holds the parser, the shape test and the signature check.
SOURCES: tuple[BookingSource, ...] = (
    BookingSource("calcom", "/webhooks/calcom", "CALCOM_WEBHOOK_SECRET", calcom.check, calcom.has_shape,
                  calcom.parse_all, calcom.booking_id_hint),
    BookingSource("calendly", "/webhooks/calendly", "CALENDLY_WEBHOOK_SECRET", calendly.check, calendly.has_shape,
                  calendly.parse_all, calendly.booking_id_hint),
    BookingSource("direct", "/bookings", "DIRECT_WEBHOOK_SECRET", direct.check, direct.has_shape, direct.parse_all,
                  direct.booking_id_hint),
)  # fmt: skip
BY_NAME: dict[str, BookingSource] = {source.name: source for source in SOURCES}


def source_named(value: object) -> BookingSource:
    """The source an SQS `source` attribute (or a CLI option) names, or a rejection naming `source`."""
    if not isinstance(value, str) or value not in BY_NAME:
        raise InvalidBooking(f"source must be one of {', '.join(BY_NAME)}", field="source")
    return BY_NAME[value]


def shape_of(body: object) -> BookingSource | None:
    """The source whose envelope the body has, if any."""
    if not isinstance(body, dict):
        return None
    return next((source for source in SOURCES if source.has_shape(body)), None)


def parse_bookings(body: object, source: BookingSource | None = None) -> tuple[Booking, ...]:
    """The body as bookings: with the named source's parser, or the one its shape points to."""
    shaped = shape_of(body)
    if source is None:
        if shaped is None:
            raise InvalidBooking("body is not a booking in any supported format", field="body")
        return shaped.parse(body)
    if shaped is not None and shaped is not source:
        raise InvalidBooking(f"body has the {shaped.name} format but was sent as {source.name}", field="body")
    return source.parse(body)


def rejection_hints(raw: bytes | str) -> tuple[Source | None, str | None]:
    """The source and booking id of a body that failed to parse, as far as they can be read; never
    raises. Lets a `rejected` result still say which booking, from which system, it was about."""
    try:
        body, _ = unwrap_sns(parse_json_body(raw), None)
    except InvalidBooking:
        return None, None
    source = shape_of(body)
    if source is None or not isinstance(body, dict):
        return None if source is None else source.name, None
    hint = source.booking_id_hint(body)
    usable = isinstance(hint, str) and not has_lone_surrogate(hint)
    return source.name, (hint.strip() or None) if usable and isinstance(hint, str) else None
