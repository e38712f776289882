"""The booking decision: what one booking message becomes (docs/contract.md, "Exactly once").

A create is planned (pure), then claimed with one conditional put; whoever wins creates, everyone else
reads the winner's item from the same request and answers with its stored result. Rejections and other
verdicts are remembered by their content, so they never claim the booking id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from record_task.booking import Booking
from record_task.cancellation import Cancellation
from record_task.config import Settings
from record_task.creation import TaskCreation, what_is_recorded
from record_task.errors import ErrorInfo, InvalidBooking, PermanentFailure, RecordTaskError, TransientFailure
from record_task.ledger import BookingLedger, Entry, State, booking_key
from record_task.outcomes import Announcer, Outcome
from record_task.plan import plan_recording
from record_task.results import Result
from record_task.sources import rejection_hints

MAX_BOOKING_BYTES = 16 * 1024  # a booking's stored form; every field has its own, smaller limit first


def iso(now: float) -> str:
    return datetime.fromtimestamp(int(now), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class BookingDecision:
    """The one place that decides what a booking becomes; transports only parse and respond."""

    settings: Settings
    ledger: BookingLedger
    creation: TaskCreation
    cancellation: Cancellation
    announcer: Announcer

    def handle(self, booking: Booking, now: int) -> Outcome:
        """One booking action (a reschedule is two: cancel the old booking, then create the new)."""
        received_at = iso(now)
        steps = [booking]
        if booking.replaces and booking.action == "create" and not booking.skip_reason:
            steps.insert(0, Booking(booking.replaces, booking.source, "cancel", trigger=booking.trigger))
        decided = [self._step(step, now, received_at) for step in steps]
        duplicate = all(repeat for _, repeat in decided)
        if duplicate:
            self.announcer.count("duplicate")
        return Outcome(results=tuple(result for result, _ in decided), duplicate=duplicate)

    def reject(self, error: InvalidBooking, raw: bytes | str, now: int, source: str | None) -> Outcome:
        """A message that is not a valid booking: one verdict per distinct source and body.

        The booking id is read as far as the body allows, so the result still says what it was about.
        """
        hinted_source, booking_id = rejection_hints(raw)
        source = source or hinted_source
        body = raw.encode() if isinstance(raw, str) else raw
        result = Result("rejected", booking_id, None, source, error=error.info, received_at=iso(now))
        verdict, repeat = self._verdict(f"body:{source}:".encode() + body, result, now)
        return Outcome(results=(verdict,), duplicate=repeat)

    def give_up(self, booking: Booking | None, error: RecordTaskError, now: int, source: str | None) -> Result:
        """The last delivery failed transiently: say `failed` before the message goes to the DLQ."""
        if booking is not None:
            result = Result.for_booking(booking, "failed", iso(now), error=error.info)
        else:
            result = Result("failed", None, None, source, error=error.info, received_at=iso(now))
        self.announcer.publish(result)
        return result

    # -- one step ------------------------------------------------------------------------------------

    def _step(self, booking: Booking, now: int, received_at: str) -> tuple[Result, bool]:
        if booking.skip_reason:
            skipped = Result.for_booking(booking, "skipped", received_at, reason=booking.skip_reason)
            return self._verdict(_digest(booking, "skipped"), skipped, now)
        if len(json.dumps(booking.to_dict())) > MAX_BOOKING_BYTES:
            error = ErrorInfo("InvalidParameter", f"the booking is larger than {MAX_BOOKING_BYTES} bytes", "body")
            return self._verdict(
                _digest(booking, "rejected"), Result.for_booking(booking, "rejected", received_at, error=error), now
            )
        try:
            if booking.action == "cancel":
                return self.cancellation.cancel(booking, now, received_at)
            return self._create(booking, now, received_at)
        except PermanentFailure as exc:  # a cancellation the API refuses: not final, so not remembered
            failed = Result.for_booking(booking, "failed", received_at, error=exc.info)
            self.announcer.publish(failed)
            return failed, False

    def _create(self, booking: Booking, now: int, received_at: str) -> tuple[Result, bool]:
        pk = booking_key(booking.source, booking.booking_id)
        try:
            plan = plan_recording(booking, self.settings, now)
        except InvalidBooking as exc:
            known = self.ledger.get(pk)  # a repeat of a booking decided earlier, whose window has passed?
            if known is not None:
                return self._repeat(known, booking, now, received_at)
            rejected = Result.for_booking(booking, "rejected", received_at, error=exc.info)
            return self._verdict(_digest(booking, "rejected"), rejected, now)
        if plan.deferred:
            result = Result.for_booking(booking, "deferred", received_at, window=(plan.start_time, plan.end_time))
            entry = Entry(pk, State.DEFERRED, booking, results={"create": result.to_message()}, unpublished="create")
            earlier = self.ledger.insert(entry, now, due_at=plan.due_at)
            if earlier is not None:
                return self._repeat(earlier, booking, now, received_at)
            self.announcer.announce(pk, "create", result, still_due=True)
            return result, False
        lease_until = self.creation.lease(now)
        claim = Entry(pk, State.CREATING, booking, plan.requests, lease_until=lease_until)
        earlier = self.ledger.insert(claim, now)
        if earlier is not None:
            return self._repeat(earlier, booking, now, received_at)
        result = self.creation.create(claim, plan.requests, lease_until, now, received_at, recovering=False)
        self.announcer.announce(pk, "create", result)
        return result, False

    def _repeat(self, entry: Entry, booking: Booking, now: int, received_at: str) -> tuple[Result, bool]:
        """A create for a booking the ledger holds: its first outcome, while that still answers it."""
        assert entry.booking is not None
        if entry.state == State.CANCELLED:
            reason = f"booking {booking.booking_id} was cancelled; it is not recorded again (book it under a new id)"
            skipped = Result.for_booking(booking, "skipped", received_at, reason=reason)
            return self._verdict(_digest(booking, "cancelled"), skipped, now)
        if what_is_recorded(entry.booking) != what_is_recorded(booking):
            error = ErrorInfo(
                "InvalidParameter",
                f"BookingId {booking.booking_id!r} is already booked with another window or stream; cancel it and "
                "book the new session under a new BookingId",
                field="BookingId",
            )
            rejected = Result.for_booking(booking, "rejected", received_at, error=error)
            return self._verdict(_digest(booking, "rejected"), rejected, now)
        if entry.state == State.CREATING:  # a live claim is another invocation's; a lapsed one is finished here
            resumed = None if entry.lease_alive(now) else self.creation.resume(entry, now, received_at)
            if resumed is None:
                raise TransientFailure("the booking is being created by another invocation", code="InProgress")
            self.announcer.announce(entry.pk, "create", resumed)
            return resumed, False
        earlier = entry.result("create")
        assert earlier is not None  # deferred, active and failed items all hold their create result
        if entry.unpublished == "create" and self.announcer.republish(entry, "create", earlier, now):
            return earlier, False  # decided, but its publish failed: this delivery sent it
        return earlier, True

    def _verdict(self, content: bytes, result: Result, now: int) -> tuple[Result, bool]:
        return self.announcer.once(hashlib.sha256(content).hexdigest(), result, now)


def _digest(booking: Booking, kind: str) -> bytes:
    return f"{kind}:".encode() + json.dumps(booking.to_dict(), sort_keys=True).encode()
