"""Booking -> the exact `CreateRecordTask` calls to make, with every API rule checked first.

Pure: the clock is a parameter, so a bad booking is refused before it costs a call and the rules
are tested exhaustively without I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from record_task.bookings.routing import resolve_stream
from record_task.config import Settings
from record_task.errors import InvalidBooking
from record_task.model.booking import Booking
from record_task.model.tasks import RecordTaskRequest

MAX_TASK_SECONDS = 24 * 3600
# The regions CreateRecordTask accepts (docs/contract.md, "Validation").
REGIONS = frozenset(
    "ap-bangkok ap-guangzhou ap-hongkong ap-jakarta ap-mumbai ap-seoul ap-singapore ap-tokyo eu-frankfurt "
    "na-ashburn na-siliconvalley na-toronto sa-saopaulo".split()
)
STREAM_TYPES = frozenset({0, 1})


@dataclass(frozen=True)
class RecordingPlan:
    """What to do for a create: the calls now, or (deferred) nothing until `due_at`."""

    requests: tuple[RecordTaskRequest, ...]
    start_time: int
    end_time: int
    deferred: bool = False
    due_at: int | None = None  # deferred only: the first sweep time at which it fits the horizon


def plan_recording(booking: Booking, settings: Settings, now: int) -> RecordingPlan:
    """Apply routing, defaults and padding, check every rule, split into <= 24 h tasks.

    A window whose last task would start beyond the horizon is not an error: the plan is deferred,
    checked as far as it can be, and due once every task fits the horizon.
    """
    stream = resolve_stream(booking, settings.stream_defaults, now)
    domain_name = _text(stream.domain_name, "DomainName")
    app_name = _text(stream.app_name, "AppName")
    stream_name = _text(stream.stream_name, "StreamName")
    stream_type = 0 if stream.stream_type is None else stream.stream_type
    if stream_type not in STREAM_TYPES:
        raise InvalidBooking(
            f"StreamType must be 0 (live push) or 1 (mixed stream), got {stream_type}", field="StreamType"
        )
    template_id = stream.template_id
    if template_id is not None and template_id < 0:
        raise InvalidBooking(f"TemplateId must be a non-negative integer, got {template_id}", field="TemplateId")
    region = stream.region or settings.tencent_region
    if region not in REGIONS:
        raise InvalidBooking(
            f"Region {region!r} is not one the API supports: {', '.join(sorted(REGIONS))}", field="Region"
        )
    if booking.end_time is None:
        raise InvalidBooking("EndTime is required to create a recording", field="EndTime")
    if booking.start_time is not None and booking.end_time <= booking.start_time:
        raise InvalidBooking("EndTime must be later than StartTime", field="EndTime")

    start = now if booking.start_time is None else booking.start_time - settings.lead_seconds
    end = booking.end_time + settings.tail_seconds
    if end <= now:
        raise InvalidBooking("EndTime must be later than the current time (the window is over)", field="EndTime")
    if start > now + settings.max_ahead_seconds:
        raise InvalidBooking(
            f"StartTime must be within MAX_AHEAD_SECONDS ({settings.max_ahead_seconds} s) of now", field="StartTime"
        )
    start = max(start, now)  # a window already under way records from now on
    if end - start > settings.horizon_seconds:
        raise InvalidBooking(
            f"the recording window may last at most RECORD_HORIZON_SECONDS ({settings.horizon_seconds} s): "
            "the API only accepts tasks starting within 6 days; split the booking",
            field="EndTime",
        )

    starts = range(start, end, MAX_TASK_SECONDS)
    if starts[-1] > now + settings.horizon_seconds:
        return RecordingPlan(
            requests=(),
            start_time=start,
            end_time=end,
            deferred=True,
            due_at=starts[-1] - settings.horizon_seconds,
        )
    requests = tuple(
        RecordTaskRequest(
            stream_name=stream_name,
            domain_name=domain_name,
            app_name=app_name,
            start_time=piece,
            end_time=min(piece + MAX_TASK_SECONDS, end),
            stream_type=stream_type,
            template_id=template_id,
            extension=stream.extension or "",
            region=region,
        )
        for piece in starts
    )
    return RecordingPlan(requests=requests, start_time=start, end_time=end)


def _text(value: str | None, field_name: str) -> str:
    if value is None or not value.strip():
        raise InvalidBooking(
            f"{field_name} is required: give it in the booking, a route or its default setting", field=field_name
        )
    return value
