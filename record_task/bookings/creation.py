"""Task creation: the claim holder creates each planned task, adopts what an interrupted attempt made,
and undoes a split window refused half-way, then ends the claim with its result (docs/contract.md,
"Exactly once")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from record_task.bookings.plan import plan_recording
from record_task.bookings.stream_tasks import StreamTasks
from record_task.config import Settings
from record_task.errors import InvalidBooking, OperatorError, PermanentFailure, TransientFailure
from record_task.ledger.items import Entry, State
from record_task.ledger.store import Ledger
from record_task.model.booking import Booking
from record_task.model.results import Result, Status, TaskRecord
from record_task.model.tasks import RecordTaskRequest

if TYPE_CHECKING:
    from record_task.tencent.tasks import TaskApi

logger = Logger(service="record-task", child=True)


@dataclass(frozen=True)
class TaskCreation:
    """Runs a claimed booking's `CreateRecordTask` calls; the claim makes it the only creator."""

    settings: Settings
    api: TaskApi
    ledger: Ledger
    streams: StreamTasks

    def lease(self, now: int) -> int:
        return now + self.settings.claim_lease_seconds

    def create(
        self,
        entry: Entry,
        requests: tuple[RecordTaskRequest, ...],
        lease_until: int,
        now: int,
        *,
        recovering: bool,
    ) -> Result:
        """Create every planned task (adopting those a lapsed claim made) and store the result unpublished."""
        assert entry.booking is not None
        try:
            # on its stream (docs/contract.md, "Streams"): a lapsed attempt's tasks are adopted there, and a
            # permanent refusal undoes the creates of this change there
            tasks = self.streams.join(entry, requests, lease_until, now, recovering=recovering)
        except (TransientFailure, OperatorError) as exc:  # the retry adopts what was made; nothing is final
            held = exc.info.to_dict() if isinstance(exc, OperatorError) else None
            self.ledger.release(entry.pk, lease_until, held)
            raise
        except PermanentFailure as exc:
            result = Result.for_booking(entry.booking, "failed", now, error=exc.info)
            return self._finish(entry, lease_until, State.FAILED, result, (), now)
        result = Result.for_booking(entry.booking, "created", now, tasks=tuple(tasks))
        return self._finish(entry, lease_until, State.ACTIVE, result, tuple(tasks), now)

    def resume(self, entry: Entry, now: int) -> Result | None:
        """Take over a lapsed claim, or a deferred booking that is due, and finish it.

        None when there is nothing to do now: not due yet, or another invocation took it first.
        """
        assert entry.booking is not None
        requests = entry.requests
        rejection: InvalidBooking | None = None
        if entry.state == State.DEFERRED:
            try:
                plan = plan_recording(entry.booking, self.settings, now)
            except InvalidBooking as exc:  # e.g. the sweep ran after the window closed
                rejection = exc
            else:
                if plan.deferred:
                    return None
                requests = plan.requests
        elif entry.held and requests and max(r.end_time for r in requests) <= now:
            rejection = _too_late(entry.held)  # held until its window was over: say so, naming the last error
        lease_until = self.lease(now)
        if not self.ledger.take(entry, lease_until, now, requests):
            return None
        if rejection is not None:
            status: Status = "failed" if entry.held else "rejected"
            result = Result.for_booking(entry.booking, status, now, error=rejection.info)
            return self._finish(entry, lease_until, State.FAILED, result, (), now)
        return self.create(entry, requests, lease_until, now, recovering=entry.state == State.CREATING)

    def _finish(
        self, entry: Entry, lease_until: int, state: State, result: Result, tasks: tuple[TaskRecord, ...], now: int
    ) -> Result:
        if not self.ledger.finish(entry.pk, lease_until, state, result, tasks, now):
            # Our lease lapsed and another attempt took the booking over: it adopts these tasks.
            raise TransientFailure("the booking was taken over by another attempt; retry", code="InProgress")
        return result


def _too_late(held: dict[str, Any]) -> InvalidBooking:
    code, message = str(held.get("code")), str(held.get("message"))
    return InvalidBooking(f"the window is over; it was held by an error the operator must fix: {message}", code=code)


def task_record(request: RecordTaskRequest, task_id: str, request_id: str) -> TaskRecord:
    r = request
    return TaskRecord(task_id, request_id, r.start_time, r.end_time, r.stream_name, r.domain_name, r.app_name, r.region)


def what_is_recorded(booking: Booking) -> tuple[object, ...]:
    """What a repeated create must match to be the same booking: its window and stream."""
    return booking.start_time, booking.end_time, booking.stream
