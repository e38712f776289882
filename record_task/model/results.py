"""The result message (docs/contract.md, "Result message"): one outcome of one booking action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from record_task.errors import ErrorInfo, bounded
from record_task.model.booking import Booking

Status = Literal[
    "created",
    "deferred",
    "cancelled",
    "rejected",
    "failed",
    "skipped",
    "recorded",
    "updated",
    "recording_started",
    "recording_paused",
    "recording_resumed",
    "recording_ended",
    "recording_failed",
    "queued",  # a webhook's answer only (docs/contract.md, "Nothing valid is refused"): never published
]


@dataclass(frozen=True)
class TaskRecord:
    """A recording task as results and the ledger describe it."""

    task_id: str
    request_id: str
    start_time: int
    end_time: int
    stream_name: str
    domain_name: str
    app_name: str
    region: str
    operation: str | None = None  # cancellations: "deleted" or "stopped"
    booking_id: str | None = None  # a task made for another booking on the same stream (docs/contract.md, "Streams")

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {key: getattr(self, name) for name, key in _TASK_KEYS}
        if self.operation:
            message["operation"] = self.operation
        if self.booking_id:
            message["bookingId"] = self.booking_id
        return message

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> TaskRecord:
        values: dict[str, Any] = {n: int(data[k]) if n.endswith("_time") else str(data[k]) for n, k in _TASK_KEYS}
        return cls(**values, operation=data.get("operation"), booking_id=data.get("bookingId"))


# TaskRecord attribute -> its key in a result message.
_TASK_KEYS = (
    ("task_id", "taskId"),
    ("request_id", "requestId"),
    ("start_time", "startTime"),
    ("end_time", "endTime"),
    ("stream_name", "streamName"),
    ("domain_name", "domainName"),
    ("app_name", "appName"),
    ("region", "region"),
)


@dataclass(frozen=True)
class Result:
    """One outcome of one booking action."""

    status: Status
    booking_id: str | None
    action: str | None
    source: str | None
    trigger: str | None = None
    tasks: tuple[TaskRecord, ...] = ()
    error: ErrorInfo | None = None
    received_at: str = ""
    window: tuple[int, int] | None = None  # deferred: the planned window
    reason: str | None = None  # skipped: why nothing was done
    recording: dict[str, Any] | None = None  # recorded: the file (docs/contract.md, "Recording callbacks")
    record_event: dict[str, Any] | None = None  # recording_*: the callback's published fields

    @classmethod
    def for_booking(cls, booking: Booking, status: Status, now: int, **values: Any) -> Result:
        """A result about `booking`, received at `now`."""
        return cls(
            status=status,
            booking_id=booking.booking_id,
            action=booking.action,
            source=booking.source,
            trigger=booking.trigger,
            received_at=iso(now),
            **values,
        )

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "status": self.status,
            "bookingId": bounded(self.booking_id),
            "action": self.action,
            "source": self.source,
            "trigger": bounded(self.trigger),
            "tasks": [task.to_message() for task in self.tasks],
            "error": self.error.to_dict() if self.error else None,
            "receivedAt": self.received_at,
        }
        if self.window is not None:
            message["window"] = {"startTime": self.window[0], "endTime": self.window[1]}
        if self.reason is not None:
            message["reason"] = self.reason
        if self.recording is not None:
            message["recording"] = self.recording
        if self.record_event is not None:
            message["recordEvent"] = self.record_event
        return message

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> Result:
        error = data.get("error")
        window = data.get("window")
        return cls(
            status=data["status"],
            booking_id=data.get("bookingId"),
            action=data.get("action"),
            source=data.get("source"),
            trigger=data.get("trigger"),
            tasks=tuple(TaskRecord.from_message(task) for task in data.get("tasks") or ()),
            error=ErrorInfo(**error) if error else None,
            received_at=data.get("receivedAt") or "",
            window=(int(window["startTime"]), int(window["endTime"])) if window else None,
            reason=data.get("reason"),
            recording=data.get("recording"),
            record_event=data.get("recordEvent"),
        )


def iso(now: float) -> str:
    """A result's `receivedAt`: UTC, whole seconds."""
    return datetime.fromtimestamp(int(now), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
