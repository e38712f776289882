"""The stream item: one per stream in the bookings table, read and written whole with a version, so
every change to a stream's tasks is serialised by one conditional write (docs/contract.md, "Streams").

`holder` is the booking whose claim (`holderLease`) is making the calls: nothing else is held across a
Tencent call. A holder that finished is seen in its own booking item; one whose claim lapsed left its
calls to be found again (`find_record_task`) and its `retiring` tasks to be ended again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from record_task.model.streams import Segment, StreamBooking


@dataclass(frozen=True)
class StreamState:
    pk: str
    version: int = 0  # 0: no item yet
    bookings: tuple[StreamBooking, ...] = ()
    segments: tuple[Segment, ...] = ()
    holder: str | None = None
    holder_lease: int = 0
    retiring: tuple[Segment, ...] = ()  # tasks the holder deletes (not started) or stops (running)

    def booking(self, pk: str) -> StreamBooking | None:
        return next((b for b in self.bookings if b.pk == pk), None)

    def to_item(self) -> dict[str, Any]:
        return {
            "pk": self.pk,
            "version": self.version,
            "bookings": {b.pk: b.to_item() for b in self.bookings},
            "segments": [s.to_item() for s in self.segments],
            "holder": self.holder,
            "holderLease": self.holder_lease,
            "retiring": [s.to_item() for s in self.retiring],
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StreamState:
        return cls(
            pk=str(item["pk"]),
            version=int(item["version"]),
            bookings=tuple(StreamBooking.from_item(pk, b) for pk, b in sorted(item.get("bookings", {}).items())),
            segments=tuple(Segment.from_item(s) for s in item.get("segments", [])),
            holder=item.get("holder"),
            holder_lease=int(item.get("holderLease") or 0),
            retiring=tuple(Segment.from_item(s) for s in item.get("retiring", [])),
        )
