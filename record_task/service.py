"""Runs one booking through plan -> live calls -> ledger -> result, exactly once.

Two layers keep "never recorded twice" true. Powertools idempotency (keyed on source + booking id
+ action) answers a duplicate delivery with the first outcome and no work. The booking ledger guards
the task itself: a booking is claimed before any call, each task is recorded the moment it exists,
and an attempt that finds a lapsed claim first asks the API which of the planned tasks already exist.
A result is published inside the idempotent step, so a failed publish is retried without creating again.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from record_task.booking import Booking
from record_task.config import Settings
from record_task.errors import ErrorInfo, InvalidBooking, PermanentFailure, RecordTaskError, TransientFailure
from record_task.ledger import BookingLedger, Conflict, Entry, ledger_key
from record_task.plan import RecordTaskRequest, plan_recording
from record_task.results import Result, ResultPublisher, TaskRecord
from record_task.sources import rejection_hints

if TYPE_CHECKING:
    from record_task.live import LiveApi

logger = Logger(service="record-task", child=True)

Once = Callable[[str, Callable[[], dict[str, Any]]], tuple[dict[str, Any], bool]]


def run_directly(key: str, work: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The no-idempotency-store stand-in: always runs, never a duplicate."""
    return work(), False


@dataclass(frozen=True)
class Outcome:
    """What handling one message produced: results in publish order, and whether it was a repeat."""

    results: tuple[Result, ...]
    duplicate: bool = False

    @property
    def primary(self) -> Result:
        """The result a webhook answers with: the last step (a reschedule's create)."""
        return self.results[-1]


@dataclass
class SweepSummary:
    due: int = 0
    created: int = 0
    rejected: int = 0
    failed: int = 0
    retry_later: int = 0
    skipped: int = 0
    published: int = 0
    booking_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "created": self.created,
            "rejected": self.rejected,
            "failed": self.failed,
            "retryLater": self.retry_later,
            "skipped": self.skipped,
            "republished": self.published,
            "bookingIds": self.booking_ids,
        }


def iso(now: float) -> str:
    return datetime.fromtimestamp(int(now), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BookingService:
    """The one place that decides what a booking becomes; transports only parse and respond."""

    def __init__(
        self,
        settings: Settings,
        live: LiveApi,
        ledger: BookingLedger,
        publisher: ResultPublisher,
        once: Once = run_directly,
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._live = live
        self._ledger = ledger
        self._publisher = publisher
        self._once = once
        self._metrics = metrics

    # -- entry points --------------------------------------------------------------------------------

    def handle(self, booking: Booking, now: int) -> Outcome:
        """One booking action (a reschedule is two: cancel the old booking, then create the new)."""
        received_at = iso(now)
        steps: list[Booking] = [booking]
        if booking.replaces and booking.action == "create" and not booking.skip_reason:
            old = Booking(booking_id=booking.replaces, source=booking.source, action="cancel", trigger=booking.trigger)
            steps.insert(0, old)
        results: list[Result] = []
        duplicate = True
        for step in steps:
            key = step.key if not step.skip_reason else f"{step.key}:{step.trigger}"
            message, repeat = self._once(key, partial(self._decide_and_publish, step, now, received_at))
            result = Result.from_message(message)
            if repeat and step.action == "create" and not step.skip_reason:
                result, repeat = self._recheck(step, result, received_at)
            results.append(result)
            duplicate = duplicate and repeat
        if duplicate:
            self._count("duplicate")
        return Outcome(results=tuple(results), duplicate=duplicate)

    def reject(self, error: InvalidBooking, raw: bytes | str, now: int, source: str | None) -> Outcome:
        """A message that is not a valid booking: published once per distinct body and source.

        The source is the one the message was sent as, else the one its shape suggests; the booking id
        is read as far as the body allows, so the result still says what it was about.
        """
        hinted_source, booking_id = rejection_hints(raw)
        source = source or hinted_source
        body = raw.encode() if isinstance(raw, str) else raw
        body_digest = hashlib.sha256((source or "").encode() + b"\n" + body).hexdigest()
        result = Result(
            status="rejected", booking_id=booking_id, action=None, source=source, error=error.info, received_at=iso(now)
        )

        def publish() -> dict[str, Any]:
            self._publish(result)
            return result.to_message()

        message, repeat = self._once(f"rejected:{body_digest}", publish)
        return Outcome(results=(Result.from_message(message),), duplicate=repeat)

    def _recheck(self, booking: Booking, earlier: Result, received_at: str) -> tuple[Result, bool]:
        """A repeated create is answered with its first outcome only while that still holds: not after
        the booking was cancelled, and not for the same BookingId with another window or stream."""
        entry = self._ledger.get(booking.source, booking.booking_id)
        if entry is None:
            return earlier, True
        if entry.state == "cancelled":
            reason = f"booking {booking.booking_id} was cancelled; it is not recorded again (book it under a new id)"
            verdict = Result.for_booking(booking, "skipped", received_at, reason=reason)
        elif _what_is_recorded(entry.booking) != _what_is_recorded(booking):
            error = ErrorInfo(
                "InvalidParameter",
                f"BookingId {booking.booking_id!r} is already booked with another window or stream; cancel it and "
                "book the new session under a new BookingId",
                field="BookingId",
            )
            verdict = Result.for_booking(booking, "rejected", received_at, error=error)
        else:
            return earlier, True
        self._publish(verdict)
        return verdict, False

    def give_up(self, booking: Booking | None, error: RecordTaskError, now: int, source: str | None) -> Result:
        """The last delivery failed transiently: say `failed` before the message goes to the DLQ."""
        if booking is not None:
            result = Result.for_booking(booking, "failed", iso(now), error=error.info)
        else:
            result = Result(
                status="failed", booking_id=None, action=None, source=source, error=error.info, received_at=iso(now)
            )
        self._publish(result)
        return result

    # -- one step ------------------------------------------------------------------------------------

    def _decide_and_publish(self, booking: Booking, now: int, received_at: str) -> dict[str, Any]:
        result = self._decide(booking, now, received_at)
        self._publish(result)
        return result.to_message()

    def _decide(self, booking: Booking, now: int, received_at: str) -> Result:
        if booking.skip_reason:
            return Result.for_booking(booking, "skipped", received_at, reason=booking.skip_reason)
        for _ in range(3):  # a lost race means someone else moved the item: look again
            try:
                if booking.action == "cancel":
                    return self._cancel(booking, now, received_at)
                return self._create(booking, now, received_at)
            except Conflict:
                continue
            except InvalidBooking as exc:
                return Result.for_booking(booking, "rejected", received_at, error=exc.info)
            except PermanentFailure as exc:  # e.g. a cancellation the API refuses
                return Result.for_booking(booking, "failed", received_at, error=exc.info)
        raise TransientFailure("the booking changed under us repeatedly; retry", code="Conflict")

    def _create(self, booking: Booking, now: int, received_at: str) -> Result:
        entry = self._ledger.get(booking.source, booking.booking_id)
        if entry is not None:
            earlier = entry.result("create")
            if entry.state == "cancelled":
                return Result.for_booking(
                    booking, "skipped", received_at, reason="the booking was cancelled; it will not be recorded"
                )
            if entry.state in ("active", "deferred", "failed") and earlier is not None:
                return earlier
            if entry.lease_alive(now):
                raise TransientFailure("the booking is being created by another invocation", code="InProgress")
            return self._resume(entry, now, received_at)
        plan = plan_recording(booking, self._settings, now)
        if plan.deferred:
            assert plan.due_at is not None
            result = Result.for_booking(booking, "deferred", received_at, window=(plan.start_time, plan.end_time))
            self._ledger.defer(booking, plan.due_at, result)
            return result
        owner = uuid.uuid4().hex
        self._ledger.claim_new(booking, plan.requests, owner, now + self._settings.claim_lease_seconds)
        return self._run(
            ledger_key(booking.source, booking.booking_id),
            booking,
            plan.requests,
            (),
            owner,
            received_at,
            recovering=False,
        )

    def _resume(self, entry: Entry, now: int, received_at: str) -> Result:
        """Take over a lapsed claim, or a deferred booking that is due, and finish it."""
        requests = entry.requests
        rejection: InvalidBooking | None = None
        if entry.state == "deferred":
            try:
                plan = plan_recording(entry.booking, self._settings, now)
            except InvalidBooking as exc:  # e.g. the sweep ran after the window closed
                rejection = exc
            else:
                if plan.deferred:
                    raise TransientFailure("the booking is not due yet", code="NotDue")
                requests = plan.requests
        owner = uuid.uuid4().hex
        self._ledger.claim(entry, owner, now, now + self._settings.claim_lease_seconds, requests)
        if rejection is not None:
            result = Result.for_booking(entry.booking, "rejected", received_at, error=rejection.info)
            self._ledger.finish(entry.pk, owner, "failed", "create", result, tasks=())
            return result
        return self._run(
            entry.pk, entry.booking, requests, entry.tasks, owner, received_at, recovering=entry.state == "creating"
        )

    def _run(
        self,
        pk: str,
        booking: Booking,
        requests: tuple[RecordTaskRequest, ...],
        done: tuple[TaskRecord, ...],
        owner: str,
        received_at: str,
        *,
        recovering: bool,
    ) -> Result:
        """Create every planned task not yet recorded; the claim makes this the only creator."""
        tasks = list(done)
        try:
            for request in requests:
                if any(t.start_time == request.start_time and t.end_time == request.end_time for t in tasks):
                    continue
                task = self._existing(request) if recovering else None
                if task is None:
                    created = self._live.create_record_task(request)
                    task = _record(request, created.task_id, created.request_id)
                self._ledger.add_task(pk, owner, task)
                tasks.append(task)
        except TransientFailure:
            self._ledger.release(pk, owner)
            self._count("retried")
            raise
        except PermanentFailure as exc:
            self._undo(tasks)
            result = Result.for_booking(booking, "failed", received_at, error=exc.info)
            self._ledger.finish(pk, owner, "failed", "create", result, tasks=())
            return result
        result = Result.for_booking(booking, "created", received_at, tasks=tuple(tasks))
        self._ledger.finish(pk, owner, "active", "create", result, tasks=tuple(tasks))
        return result

    def _existing(self, request: RecordTaskRequest) -> TaskRecord | None:
        """A task an earlier, interrupted attempt created but could not record."""
        for info in self._live.describe_record_tasks(
            stream_name=request.stream_name,
            domain_name=request.domain_name,
            app_name=request.app_name,
            start_time=request.start_time,
            end_time=request.end_time,
            region=request.region,
        ):
            if info.start_time == request.start_time and info.end_time == request.end_time:
                logger.info("adopting a task created by an interrupted attempt", extra={"task_id": info.task_id})
                return _record(request, info.task_id, "")
        return None

    def _undo(self, tasks: list[TaskRecord]) -> None:
        """A split window failed half-way: remove the pieces made, so no partial recording is left."""
        for task in tasks:
            try:
                self._live.delete_record_task(task.task_id, task.region)
            except RecordTaskError as exc:
                logger.warning("could not remove a partial task", extra={"task_id": task.task_id, "error": exc.code})

    def _cancel(self, booking: Booking, now: int, received_at: str) -> Result:
        entry = self._ledger.get(booking.source, booking.booking_id)
        if entry is None:
            result = Result.for_booking(
                booking,
                "skipped",
                received_at,
                reason="booking not known yet: the cancellation is kept, so a later create is skipped",
            )
            self._ledger.tombstone(booking, result)
            return result
        if entry.state == "cancelled":
            earlier = entry.result("cancel")
            return earlier or Result.for_booking(booking, "skipped", received_at, reason="already cancelled")
        if entry.lease_alive(now):
            raise TransientFailure("the booking is being created right now; cancel again shortly", code="InProgress")
        if entry.state == "creating":  # a lapsed claim: finish it, so we know what to remove
            self._resume(entry, now, received_at)
            raise Conflict("resumed")
        acted = tuple(self._end_task(task, now) for task in entry.tasks)
        acted_on = tuple(task for task in acted if task.operation)
        if entry.state == "deferred":
            result = Result.for_booking(
                booking, "cancelled", received_at, reason="deferred booking cancelled before its task was created"
            )
        elif acted_on:
            result = Result.for_booking(booking, "cancelled", received_at, tasks=acted_on)
        else:
            reason = "nothing was recorded" if entry.state == "failed" else "the recording had already finished"
            result = Result.for_booking(booking, "skipped", received_at, reason=reason)
        self._ledger.cancel(entry, result, acted)
        return result

    def _end_task(self, task: TaskRecord, now: int) -> TaskRecord:
        """Delete a task not started, stop one recording, leave one finished."""
        if now >= task.end_time:
            return task
        try:
            if now < task.start_time:
                request_id = self._live.delete_record_task(task.task_id, task.region)
                operation = "deleted"
            else:
                request_id = self._live.stop_record_task(task.task_id, task.region)
                operation = "stopped"
        except PermanentFailure as exc:
            if not exc.code.startswith("ResourceNotFound"):
                raise
            return TaskRecord(**{**task.__dict__, "operation": "deleted"})  # gone already: the goal is met
        return TaskRecord(**{**task.__dict__, "request_id": request_id, "operation": operation})

    # -- the sweep -----------------------------------------------------------------------------------

    def sweep(self, now: int, time_left: Callable[[], float], workers: int = 16) -> SweepSummary:
        """Create the tasks of every deferred booking now within the horizon.

        What fails transiently, or is not reached before `time_left` runs low, stays due.
        """
        summary = SweepSummary()
        received_at = iso(now)

        def activate(entry: Entry) -> str:
            if time_left() < 5:
                return "retry_later"
            try:
                if entry.state == "active" or entry.state == "failed":  # decided, but its result was not published
                    result = entry.result("create")
                    if result is None:
                        return "skipped"
                    self._publish(result)
                    self._ledger.mark_published(entry.pk)
                    return "published"
                if entry.state == "cancelled":
                    self._ledger.mark_published(entry.pk)
                    return "skipped"
                if entry.lease_alive(now):
                    return "retry_later"
                result = self._resume(entry, now, received_at)
            except Conflict:
                return "skipped"  # another sweep or a cancellation got there first
            except TransientFailure as exc:
                logger.warning(
                    "deferred booking stays due", extra={"booking_id": entry.booking.booking_id, "error": exc.code}
                )
                return "retry_later"
            self._publish(result)
            self._ledger.mark_published(entry.pk)
            summary.booking_ids.append(entry.booking.booking_id)
            return result.status

        with ThreadPoolExecutor(max_workers=workers) as pool:
            entries = list(islice(self._ledger.due(now), self._settings.sweep_batch_limit))
            summary.due = len(entries)
            for outcome in pool.map(lambda e: _safe(activate, e), entries):
                attribute = {
                    "created": "created",
                    "rejected": "rejected",
                    "failed": "failed",
                    "published": "published",
                    "skipped": "skipped",
                }.get(outcome, "retry_later")
                setattr(summary, attribute, getattr(summary, attribute) + 1)
        return summary

    # -- plumbing ------------------------------------------------------------------------------------

    def _publish(self, result: Result) -> None:
        self._publisher.publish(result)
        self._count(result.status)
        logger.info("result published", extra={"status": result.status, "booking_id": result.booking_id})

    def _count(self, name: str, value: int = 1) -> None:
        if self._metrics is not None:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _what_is_recorded(booking: Booking) -> tuple[object, ...]:
    return booking.start_time, booking.end_time, booking.stream


def _safe(work: Callable[[Entry], str], entry: Entry) -> str:
    """One bad item must not end the sweep for the others."""
    try:
        return work(entry)
    except Exception:
        logger.exception("sweep item failed; it stays due", extra={"booking_id": entry.booking.booking_id})
        return "retry_later"


def _record(request: RecordTaskRequest, task_id: str, request_id: str) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        request_id=request_id,
        start_time=request.start_time,
        end_time=request.end_time,
        stream_name=request.stream_name,
        domain_name=request.domain_name,
        app_name=request.app_name,
        region=request.region,
    )
