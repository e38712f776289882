"""The booking every source is turned into.

A `Booking` is what one webhook or queue message asks for, in source-neutral terms: which booking,
create or cancel, the window as UNIX seconds, and any stream values the booking itself names.
Defaults, routing and API rules are applied later, by the plan.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Source = str  # a name in `record_task.sources.registry.SOURCES`
Action = Literal["create", "cancel"]


@dataclass(frozen=True)
class StreamFields:
    """Stream values named by the booking itself; None means "not given, route or default it"."""

    stream_name: str | None = None
    domain_name: str | None = None
    app_name: str | None = None
    stream_type: int | None = None
    template_id: int | None = None
    extension: str | None = None
    region: str | None = None

    def merged_over(self, base: StreamFields) -> StreamFields:
        """These values where given, `base`'s elsewhere."""
        return StreamFields(
            **{
                f.name: getattr(self, f.name) if getattr(self, f.name) is not None else getattr(base, f.name)
                for f in fields(self)
            }
        )


@dataclass(frozen=True)
class Booking:
    """One booking action, whatever system sent it."""

    booking_id: str
    source: Source
    action: Action = "create"
    trigger: str | None = None
    start_time: int | None = None  # UNIX seconds; None = "now" (direct format only)
    end_time: int | None = None
    stream: StreamFields = field(default_factory=StreamFields)
    event_type: str | None = None  # selects a route in ROUTES
    replaces: str | None = None  # a reschedule: the booking whose tasks this one replaces
    skip_reason: str | None = None  # set when the event needs no action (answered `skipped`)

    @classmethod
    def booked(
        cls,
        booking_id: str,
        source: Source,
        trigger: str,
        window: tuple[int, int],
        stream: StreamFields,
        event_type: str | None,
        replaces: str | None = None,
    ) -> Booking:
        """A booking system's create: its window, stream values and event type."""
        start, end = window
        return cls(booking_id, source, "create", trigger, start, end, stream, event_type, replaces)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Booking:
        """A stored booking; fields another version added are ignored, numbers come back as int."""
        values = {name: data[name] for name in _BOOKING_FIELDS if name in data}
        stream = {name: value for name, value in (data.get("stream") or {}).items() if name in _STREAM_FIELDS}
        for name in ("stream_type", "template_id"):
            if stream.get(name) is not None:
                stream[name] = int(stream[name])
        values["stream"] = StreamFields(**stream)
        for name in ("start_time", "end_time"):
            if values.get(name) is not None:
                values[name] = int(values[name])  # DynamoDB hands numbers back as Decimal
        return cls(**values)


_BOOKING_FIELDS = frozenset(f.name for f in fields(Booking))
_STREAM_FIELDS = frozenset(f.name for f in fields(StreamFields))
