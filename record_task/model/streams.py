"""A stream as a shared resource (docs/contract.md, "Streams"): the bookings standing on it and the
segments of time its tasks record, each owned by one booking.

Plain values shared by the pure planner (`record_task.bookings.streams`) and the ledger's stream item
(`record_task.ledger.streams`), so neither folder imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from record_task.model.tasks import RecordTaskRequest

Window = tuple[int, int]  # [start, end) in UNIX seconds


@dataclass(frozen=True)
class StreamBooking:
    """A booking standing on a stream: its booked and padded windows and the call its tasks are made with."""

    pk: str
    booking_id: str
    booked: Window
    padded: Window
    request: RecordTaskRequest  # the owner's parameters; a segment replaces only the window

    def to_item(self) -> dict[str, Any]:
        return {"bookingId": self.booking_id, "booked": list(self.booked), "padded": list(self.padded),
                "request": self.request.to_dict()}  # fmt: skip

    @classmethod
    def from_item(cls, pk: str, item: dict[str, Any]) -> StreamBooking:
        booked, padded = item["booked"], item["padded"]
        return cls(pk, str(item["bookingId"]), (int(booked[0]), int(booked[1])), (int(padded[0]), int(padded[1])),
                   RecordTaskRequest.from_dict(item["request"]))  # fmt: skip


@dataclass(frozen=True)
class Segment:
    """One task's span on the stream and the booking it was made for. `task_id` None: made (or being made)
    by the holder of the stream item, found in the holder's booking item or by `find_record_task`."""

    start: int
    end: int
    owner: str  # the owning booking's ledger key
    task_id: str | None = None
    request_id: str = ""
    stopped: bool = False  # ended early by StopRecordTask: `end` is the stop

    def to_item(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "owner": self.owner, "taskId": self.task_id,
                "requestId": self.request_id, "stopped": self.stopped}  # fmt: skip

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Segment:
        return cls(int(item["start"]), int(item["end"]), str(item["owner"]), item.get("taskId"),
                   str(item.get("requestId") or ""), bool(item.get("stopped")))  # fmt: skip

    def overlaps(self, window: Window) -> bool:
        return self.start < window[1] and window[0] < self.end


def stream_key(request: RecordTaskRequest) -> str:
    """The stream item's key: Region, DomainName, AppName and StreamName identify a stream."""
    r = request
    return f"stream#{r.region}#{r.domain_name}#{r.app_name}#{r.stream_name}"
