"""A recording file on a shared stream belongs to every booking it recorded (docs/contract.md, "Streams"):
the standing bookings on the stream whose booked window overlaps the file's start..end, besides the
booking that owns its task."""

from __future__ import annotations

from collections.abc import Iterator

from record_task.ledger.items import Entry, State
from record_task.ledger.store import Ledger
from record_task.model.streams import stream_key
from record_task.recordings.callbacks import RecordingFile


def sharing(ledger: Ledger, owner: Entry, callback: RecordingFile) -> Iterator[Entry]:
    """The other standing bookings whose booked window the file overlaps."""
    if not owner.requests:
        return
    stream = ledger.get_stream(stream_key(owner.requests[0]))
    for booking in stream.bookings if stream else ():
        start, end = booking.booked
        if booking.pk == owner.pk or not (start < callback.end_time and callback.start_time < end):
            continue
        entry = ledger.get(booking.pk)
        if entry is not None and entry.state == State.ACTIVE:
            yield entry
