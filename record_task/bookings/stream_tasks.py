"""Stream tasks: a booking joins or leaves its stream, and the stream's tasks are changed to match, one
change at a time per stream (docs/contract.md, "Streams").

Each change reads the stream item, plans (`plan_stream`), and claims the item with a write conditional on
its version that names the booking's claim as holder; the calls follow; the holder then writes the task
ids back. A stream nobody used yet is claimed by one conditional put (the loser reads the item from the
same request); its task ids stay in the holder's booking item, so that path costs one request. A later
change finds a lapsed holder's tasks again with `find_record_task` and ends its retiring tasks again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from record_task.bookings.stream_calls import create_all, end_retired, found_again, records_for, undo, with_ids
from record_task.bookings.stream_notices import notify_neighbours
from record_task.bookings.streams import StreamPlan, plan_stream
from record_task.errors import PermanentFailure, RecordTaskError, TransientFailure
from record_task.ledger.items import Entry, State
from record_task.ledger.outbox import Outbox
from record_task.ledger.store import Ledger
from record_task.ledger.streams import StreamState
from record_task.model.results import TaskRecord
from record_task.model.streams import Segment, StreamBooking, stream_key
from record_task.model.tasks import RecordTaskRequest

if TYPE_CHECKING:
    from record_task.tencent.tasks import TaskApi

KEEP_SECONDS = 86400  # bookings and segments stay on the item this long after their end (file callbacks)
Ended = dict[str, tuple[Segment, str, str]]  # task id -> the task, "deleted" or "stopped", the request id
LEAVING = "leaving#"  # a cancellation holds the stream by a lease of its own (its booking is not claimed)
LEAVE_LEASE_SECONDS = 120
Edit = Callable[[tuple[StreamBooking, ...]], tuple[StreamBooking, ...]]


@dataclass(frozen=True)
class StreamTasks:
    api: TaskApi
    ledger: Ledger
    outbox: Outbox
    wait_seconds: float = 10.0  # how long a change waits for another booking's change of the same stream
    sleep: Callable[[float], None] = time.sleep

    def join(
        self, entry: Entry, requests: tuple[RecordTaskRequest, ...], lease_until: int, now: int, *, recovering: bool
    ) -> tuple[TaskRecord, ...]:
        """Put a claimed booking on its stream; the tasks that record its window (a neighbour's named)."""
        assert entry.booking is not None and requests
        first = requests[0]
        padded = (first.start_time, requests[-1].end_time)
        booked_start = max(entry.booking.start_time or padded[0], padded[0])
        me = StreamBooking(entry.pk, entry.booking.booking_id, (booked_start, entry.booking.end_time or padded[1]),
                           padded, replace(first, start_time=0, end_time=0))  # fmt: skip

        def add(bookings: tuple[StreamBooking, ...]) -> tuple[StreamBooking, ...]:
            return (*(b for b in bookings if b.pk != me.pk), me)

        after = self._change(stream_key(first), entry.pk, lease_until, now, add, None, adopt=recovering)
        return records_for(after, me)

    def leave(self, entry: Entry, now: int) -> tuple[TaskRecord, ...] | None:
        """Take a cancelled booking off its stream: its tasks no neighbour needs deleted or stopped, a
        neighbour's seconds it recorded given tasks of their own. None when it never joined a stream item."""
        if not entry.requests:
            return None
        key = stream_key(entry.requests[0])
        stream = self.ledger.get_stream(key)
        if stream is None:
            return None  # made before streams were kept: the booking's own tasks are ended as before
        done: Ended = {}

        def remove(bookings: tuple[StreamBooking, ...]) -> tuple[StreamBooking, ...]:
            return tuple(b for b in bookings if b.pk != entry.pk)

        self._change(key, LEAVING + entry.pk, now + LEAVE_LEASE_SECONDS, now, remove, entry, done, seen=stream)
        first = entry.requests[0]
        return tuple(
            TaskRecord(task_id, request_id, segment.start, segment.end, first.stream_name, first.domain_name,
                       first.app_name, first.region, operation=operation)
            for task_id, (segment, operation, request_id) in done.items() if segment.owner == entry.pk
        )  # fmt: skip

    def _change(
        self, key: str, holder: str, lease: int, now: int, edit: Edit, known: Entry | None,
        done: Ended | None = None, *, adopt: bool = False, seen: StreamState | None = None,
    ) -> StreamState:  # fmt: skip
        """One serialised change of the stream: read, plan, claim by version, call, write back."""
        current = seen
        if known is None:  # a create: a stream nobody used yet is claimed by one put
            bookings = edit(())
            plan = plan_stream(bookings, (), now)
            fresh = StreamState(key, 1, bookings, plan.segments, holder, lease)
            current = self.ledger.write_stream(fresh, 0)
            if current is None:
                return self._apply(StreamState(key), fresh, plan, now, release=False, adopt=adopt)
        deadline, pause = time.monotonic() + self.wait_seconds, 0.02
        while True:
            current = current or self.ledger.get_stream(key) or StreamState(key)
            settled = self._settled(current, now, known, holder, done)
            if settled is None:  # another booking of this stream is changing it right now
                if time.monotonic() > deadline:
                    raise TransientFailure("another booking on this stream is being recorded", code="InProgress")
                self.sleep(pause)  # each look costs two reads: look less often the longer it takes
                current, pause = None, min(pause * 2, 0.5)
                continue
            before, told = settled
            bookings = tuple(b for b in edit(before.bookings) if b.padded[1] > now - KEEP_SECONDS)
            plan = plan_stream(bookings, (s for s in before.segments if s.end > now - KEEP_SECONDS), now)
            claim = StreamState(
                key, current.version + 1, bookings, plan.segments, holder, lease, (*plan.delete, *plan.stop)
            )
            current = self.ledger.write_stream(claim, current.version)
            if current is None:
                return self._apply(before, claim, plan, now, release=True, done=done, adopt=adopt, told=told)

    def _apply(
        self, before: StreamState, claim: StreamState, plan: StreamPlan, now: int, *, release: bool,
        done: Ended | None = None, adopt: bool = False, told: StreamState | None = None,
    ) -> StreamState:  # fmt: skip
        made = {}
        try:
            made = create_all(self.api, claim, plan, adopt=adopt)
            ended = end_retired(self.api, claim, claim.retiring, now)
        except PermanentFailure:  # the stream as it was, without a booking whose create failed
            undo(self.api, claim, made)
            kept = tuple(b for b in before.bookings if b.pk != claim.holder)
            self.ledger.write_stream(replace(before, version=claim.version + 1, bookings=kept), claim.version)
            raise
        except RecordTaskError:
            lapse(self.ledger, claim)
            raise
        if done is not None:
            done.update(ended)
        after = replace(claim, segments=with_ids(plan, made), retiring=())
        if release:  # neighbours are told while the stream is held, so their results come in order
            try:
                notify_neighbours(self.ledger, self.outbox, told or before, after, claim.holder or "", now)
            except RecordTaskError:
                lapse(self.ledger, claim)
                raise
            if (claim.holder or "").startswith(LEAVING):
                after = replace(after, holder=None, holder_lease=0)
            # a booking's holder stays named: the next change waits until its own result is out
            after = replace(after, version=claim.version + 1)
            if self.ledger.write_stream(after, claim.version) is not None:
                raise TransientFailure("the stream was taken over by another attempt; retry", code="InProgress")
        return after

    def _settled(
        self, current: StreamState, now: int, known: Entry | None, me: str, done: Ended | None
    ) -> tuple[StreamState, StreamState] | None:
        """The stream with every task id known and nobody holding it, and the stream its bookings were last
        told of (before a lapsed holder's change); None while another live claim holds it."""
        if current.holder is None:
            return current, current
        held: Entry | None = None
        if known is not None and current.holder == known.pk:
            held = known
        elif not current.holder.startswith(LEAVING) and current.holder != me:
            held = self.ledger.get(current.holder)
        if current.holder == me and not me.startswith(LEAVING):
            pass  # an earlier attempt of this booking's create: its claim is ours now, so it lapsed
        elif held is None:  # a cancellation's change: held by its lease alone
            if current.holder_lease > now:
                return None
        elif held.state == State.CREATING and held.lease_until == current.holder_lease > now:
            return None
        elif held is not known and held.unpublished == "create" and current.holder_lease > now:
            return None  # finished; its `created` goes out before any `updated` about it
        finished = held is not None and held.state != State.CREATING
        own = {(t.start_time, t.end_time): t for t in (held.tasks if held else ()) if t.booking_id is None}
        segments = []
        for segment in current.segments:
            found = segment if segment.task_id else found_again(self.api, current, segment, own if finished else None)
            if found is not None:
                segments.append(found)
        settled = replace(current, segments=tuple(segments), holder=None, holder_lease=0, retiring=())
        if finished:
            return settled, settled
        ended = end_retired(self.api, current, current.retiring, now, tolerant=True)
        if done is not None:  # a cancellation retried: what its first attempt meant to end
            done.update(ended)
        told = (*(s for s in current.segments if s.task_id), *current.retiring)
        return settled, replace(settled, segments=told)


def lapse(ledger: Ledger, claim: StreamState) -> None:
    """A change that failed half-way hands the stream on at once: the next change (a retry, or any
    booking of the stream) finds what it made and ends what it meant to end."""
    with suppress(RecordTaskError):  # else its lease lapses on its own
        ledger.write_stream(replace(claim, version=claim.version + 1, holder_lease=0), claim.version)
