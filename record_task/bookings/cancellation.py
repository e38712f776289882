"""Cancellation: end a booking's tasks (delete those not started, stop one recording, leave finished
ones) and mark it cancelled; a cancel for a booking not seen yet is kept as a tombstone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from record_task.bookings.creation import TaskCreation
from record_task.errors import PermanentFailure, TransientFailure
from record_task.ledger.items import CANCEL, CREATE, Entry, State, booking_key
from record_task.ledger.outbox import Outbox
from record_task.ledger.store import Ledger
from record_task.model.booking import Booking
from record_task.model.results import Result, TaskRecord

if TYPE_CHECKING:
    from record_task.tencent.tasks import TaskApi

TOMBSTONE_REASON = "booking not known yet: the cancellation is kept, so a later create is skipped"
ATTEMPTS = 3  # each lost race means the item moved: read it again and decide on what is there


@dataclass(frozen=True)
class Cancellation:
    api: TaskApi
    ledger: Ledger
    creation: TaskCreation
    outbox: Outbox

    def cancel(self, booking: Booking, now: int) -> tuple[Result, bool]:
        """The cancel's result, and whether it is a repeat of one already published."""
        pk = booking_key(booking.source, booking.booking_id)
        entry = self.ledger.get(pk)
        for _ in range(ATTEMPTS):
            if entry is None:
                tombstone = Result.for_booking(booking, "skipped", now, reason=TOMBSTONE_REASON)
                stored = Entry(pk, State.CANCELLED, booking, results={"cancel": tombstone.to_message()})
                entry = self.ledger.insert(replace(stored, unpublished="cancel"), now)
                if entry is None:
                    self.outbox.send(pk, CANCEL, tombstone)
                    return tombstone, False
                continue
            if entry.state == State.CANCELLED:
                return self._repeat(entry, booking, now)
            if entry.lease_alive(now):
                raise TransientFailure(
                    "the booking is being created right now; cancel again shortly", code="InProgress"
                )
            if entry.state == State.CREATING:  # a lapsed claim: finish it first, so we know what to remove
                finished = self.creation.resume(entry, now)
                if finished is not None:
                    self.outbox.send(pk, CREATE, finished)
                entry = self.ledger.get(pk)
                continue
            result = self._end(entry, booking, now)
            if result is not None:
                return result, False
            entry = self.ledger.get(pk)
        raise TransientFailure("the booking changed under us repeatedly; retry", code="Conflict")

    def _end(self, entry: Entry, booking: Booking, now: int) -> Result | None:
        """End the tasks and mark the booking cancelled; None when the item changed meanwhile."""
        left = self.creation.streams.leave(entry, now) if entry.state == State.ACTIVE else None
        acted = left if left is not None else tuple(self._end_task(task, now) for task in entry.tasks)
        acted_on = tuple(task for task in acted if task.operation)
        if entry.state == State.DEFERRED:
            reason = "deferred booking cancelled before its task was created"
            result = Result.for_booking(booking, "cancelled", now, reason=reason)
        elif acted_on:
            result = Result.for_booking(booking, "cancelled", now, tasks=acted_on)
        else:
            reason = "nothing was recorded" if entry.state == State.FAILED else "the recording had already finished"
            result = Result.for_booking(booking, "skipped", now, reason=reason)
        if not self.ledger.cancel(entry, result, acted, now):
            return None
        self.outbox.send(entry.pk, CANCEL, result)
        return result

    def _repeat(self, entry: Entry, booking: Booking, now: int) -> tuple[Result, bool]:
        earlier = self.outbox.again(entry, CANCEL.name, now)
        return earlier or (Result.for_booking(booking, "skipped", now, reason="already cancelled"), True)

    def _end_task(self, task: TaskRecord, now: int) -> TaskRecord:
        """Delete a task not started, stop one recording, leave one finished."""
        if now >= task.end_time:
            return task
        try:
            if now < task.start_time:
                request_id = self.api.delete_record_task(task.task_id, task.region)
                operation = "deleted"
            else:
                request_id = self.api.stop_record_task(task.task_id, task.region)
                operation = "stopped"
        except PermanentFailure as exc:
            if not exc.code.startswith("ResourceNotFound"):
                raise
            return replace(task, operation="deleted")  # gone already: the goal is met
        return replace(task, request_id=request_id, operation=operation)
