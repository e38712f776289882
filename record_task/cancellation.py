"""Cancellation: end a booking's tasks (delete those not started, stop one recording, leave finished
ones) and mark it cancelled; a cancel for a booking not seen yet is kept as a tombstone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from record_task.booking import Booking
from record_task.creation import TaskCreation
from record_task.errors import PermanentFailure, TransientFailure
from record_task.ledger import BookingLedger, Entry, State, booking_key
from record_task.outcomes import Announcer
from record_task.results import Result, TaskRecord

if TYPE_CHECKING:
    from record_task.live import LiveApi

TOMBSTONE_REASON = "booking not known yet: the cancellation is kept, so a later create is skipped"
ATTEMPTS = 3  # each lost race means the item moved: read it again and decide on what is there


@dataclass(frozen=True)
class Cancellation:
    live: LiveApi
    ledger: BookingLedger
    creation: TaskCreation
    announcer: Announcer

    def cancel(self, booking: Booking, now: int, received_at: str) -> tuple[Result, bool]:
        """The cancel's result, and whether it is a repeat of one already published."""
        pk = booking_key(booking.source, booking.booking_id)
        entry = self.ledger.get(pk)
        for _ in range(ATTEMPTS):
            if entry is None:
                tombstone = Result.for_booking(booking, "skipped", received_at, reason=TOMBSTONE_REASON)
                stored = Entry(pk, State.CANCELLED, booking, results={"cancel": tombstone.to_message()})
                entry = self.ledger.insert(replace(stored, unpublished="cancel"), now)
                if entry is None:
                    self.announcer.announce(pk, "cancel", tombstone)
                    return tombstone, False
                continue
            if entry.state == State.CANCELLED:
                return self._repeat(entry, booking, now, received_at)
            if entry.lease_alive(now):
                raise TransientFailure(
                    "the booking is being created right now; cancel again shortly", code="InProgress"
                )
            if entry.state == State.CREATING:  # a lapsed claim: finish it first, so we know what to remove
                finished = self.creation.resume(entry, now, received_at)
                if finished is not None:
                    self.announcer.announce(pk, "create", finished)
                entry = self.ledger.get(pk)
                continue
            result = self._end(entry, booking, now, received_at)
            if result is not None:
                return result, False
            entry = self.ledger.get(pk)
        raise TransientFailure("the booking changed under us repeatedly; retry", code="Conflict")

    def _end(self, entry: Entry, booking: Booking, now: int, received_at: str) -> Result | None:
        """End the tasks and mark the booking cancelled; None when the item changed meanwhile."""
        acted = tuple(self._end_task(task, now) for task in entry.tasks)
        acted_on = tuple(task for task in acted if task.operation)
        if entry.state == State.DEFERRED:
            reason = "deferred booking cancelled before its task was created"
            result = Result.for_booking(booking, "cancelled", received_at, reason=reason)
        elif acted_on:
            result = Result.for_booking(booking, "cancelled", received_at, tasks=acted_on)
        else:
            reason = "nothing was recorded" if entry.state == State.FAILED else "the recording had already finished"
            result = Result.for_booking(booking, "skipped", received_at, reason=reason)
        if not self.ledger.cancel(entry, result, acted, now):
            return None
        self.announcer.announce(entry.pk, "cancel", result)
        return result

    def _repeat(self, entry: Entry, booking: Booking, now: int, received_at: str) -> tuple[Result, bool]:
        earlier = entry.result("cancel")
        if earlier is None:
            return Result.for_booking(booking, "skipped", received_at, reason="already cancelled"), True
        if entry.unpublished == "cancel" and self.announcer.republish(entry, "cancel", earlier, now):
            return earlier, False  # stored, but its publish failed: this delivery sent it
        return earlier, True

    def _end_task(self, task: TaskRecord, now: int) -> TaskRecord:
        """Delete a task not started, stop one recording, leave one finished."""
        if now >= task.end_time:
            return task
        try:
            if now < task.start_time:
                request_id = self.live.delete_record_task(task.task_id, task.region)
                operation = "deleted"
            else:
                request_id = self.live.stop_record_task(task.task_id, task.region)
                operation = "stopped"
        except PermanentFailure as exc:
            if not exc.code.startswith("ResourceNotFound"):
                raise
            return replace(task, operation="deleted")  # gone already: the goal is met
        return replace(task, request_id=request_id, operation=operation)
