"""The booking decision: what one booking message becomes (docs/contract.md, "Exactly once").

A create is planned (pure), then claimed with one conditional put; whoever wins creates, everyone else
reads the winner's item from the same request and answers with its stored result. Rejections and other
verdicts are remembered by their content, so they never claim the booking id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from record_task.bookings.cancellation import Cancellation
from record_task.bookings.creation import TaskCreation, what_is_recorded
from record_task.bookings.plan import plan_recording
from record_task.config import Settings
from record_task.errors import ErrorInfo, InvalidBooking, PermanentFailure, RecordTaskError, TransientFailure
from record_task.ledger.items import CREATE, Entry, State, booking_key
from record_task.ledger.outbox import Outbox, Outcome
from record_task.ledger.store import Ledger
from record_task.model.booking import Booking
from record_task.model.results import Result, iso
from record_task.sources.registry import rejection_hints

MAX_BOOKING_BYTES = 16 * 1024  # a booking's stored form; every field has its own, smaller limit first


@dataclass(frozen=True)
class BookingDecision:
    """The one place that decides what a booking becomes; transports only parse and respond."""

    settings: Settings
    ledger: Ledger
    creation: TaskCreation
    cancellation: Cancellation
    outbox: Outbox

    def within(self, seconds: float) -> BookingDecision:
        """The same decision for one request that may spend at most `seconds` on the Live API in all."""
        api = self.creation.api.within(seconds)
        creation = replace(self.creation, api=api)
        return replace(self, creation=creation, cancellation=replace(self.cancellation, api=api, creation=creation))

    def handle(self, booking: Booking, now: int) -> Outcome:
        """One booking action (a reschedule is two: cancel the old booking, then create the new)."""
        steps = [booking]
        if booking.replaces and booking.action == "create" and not booking.skip_reason:
            steps.insert(0, Booking(booking.replaces, booking.source, "cancel", trigger=booking.trigger))
        decided = [self._step(step, now) for step in steps]
        duplicate = all(repeat for _, repeat in decided)
        if duplicate:
            self.outbox.count("duplicate")
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

    def give_up(self, booking: Booking, error: RecordTaskError, now: int) -> Result:
        """The last delivery failed transiently: say `failed` before the message goes to the DLQ."""
        result = Result.for_booking(booking, "failed", now, error=error.info)
        self.outbox.publish(result)
        return result

    # -- one step ------------------------------------------------------------------------------------

    def _step(self, booking: Booking, now: int) -> tuple[Result, bool]:
        if booking.skip_reason:
            skipped = Result.for_booking(booking, "skipped", now, reason=booking.skip_reason)
            return self._verdict(_digest(booking, "skipped"), skipped, now)
        if len(json.dumps(booking.to_dict())) > MAX_BOOKING_BYTES:
            error = ErrorInfo("InvalidParameter", f"the booking is larger than {MAX_BOOKING_BYTES} bytes", "body")
            return self._verdict(
                _digest(booking, "rejected"), Result.for_booking(booking, "rejected", now, error=error), now
            )
        try:
            if booking.action == "cancel":
                return self.cancellation.cancel(booking, now)
            return self._create(booking, now)
        except PermanentFailure as exc:  # a cancellation the API refuses: not final, so not remembered
            failed = Result.for_booking(booking, "failed", now, error=exc.info)
            self.outbox.publish(failed)
            return failed, False

    def _create(self, booking: Booking, now: int) -> tuple[Result, bool]:
        pk = booking_key(booking.source, booking.booking_id)
        try:
            plan = plan_recording(booking, self.settings, now)
        except InvalidBooking as exc:
            known = self._known(pk, booking, now)  # a repeat of a booking decided earlier, whose window has passed?
            if known is not None:
                return known
            rejected = Result.for_booking(booking, "rejected", now, error=exc.info)
            return self._verdict(_digest(booking, "rejected"), rejected, now)
        if plan.deferred:
            result = Result.for_booking(booking, "deferred", now, window=(plan.start_time, plan.end_time))
            entry = Entry(pk, State.DEFERRED, booking, results={"create": result.to_message()}, unpublished="create")
            earlier = self.ledger.insert(entry, now, due_at=plan.due_at)
            if earlier is not None:
                return self._repeat(earlier, booking, now)
            self.outbox.send(pk, CREATE, result, still_due=True)
            return result, False
        if not self.creation.api.has_room():  # a bounded (webhook) request queues it before any write,
            known = self._known(pk, booking, now)  # unless it is a repeat: that is answered as one
            if known is not None:
                return known
            raise TransientFailure("this instance's share of the API rate is used up", code="RateShareUsedUp")
        lease_until = self.creation.lease(now)
        claim = Entry(pk, State.CREATING, booking, plan.requests, lease_until=lease_until)
        earlier = self.ledger.insert(claim, now)
        if earlier is not None:
            return self._repeat(earlier, booking, now)
        result = self.creation.create(claim, plan.requests, lease_until, now, recovering=False)
        self.outbox.send(pk, CREATE, result)
        return result, False

    def _known(self, pk: str, booking: Booking, now: int) -> tuple[Result, bool] | None:
        """The answer to a create for a booking the ledger already holds; None when it holds none."""
        entry = self.ledger.get(pk)
        return None if entry is None else self._repeat(entry, booking, now)

    def _repeat(self, entry: Entry, booking: Booking, now: int) -> tuple[Result, bool]:
        """A create for a booking the ledger holds: its first outcome, while that still answers it."""
        assert entry.booking is not None
        if entry.state == State.CANCELLED:
            reason = f"booking {booking.booking_id} was cancelled; it is not recorded again (book it under a new id)"
            skipped = Result.for_booking(booking, "skipped", now, reason=reason)
            return self._verdict(_digest(booking, "cancelled"), skipped, now)
        if what_is_recorded(entry.booking) != what_is_recorded(booking):
            error = ErrorInfo(
                "InvalidParameter",
                f"BookingId {booking.booking_id!r} is already booked with another window or stream; cancel it and "
                "book the new session under a new BookingId",
                field="BookingId",
            )
            rejected = Result.for_booking(booking, "rejected", now, error=error)
            return self._verdict(_digest(booking, "rejected"), rejected, now)
        if entry.state == State.CREATING:  # a live claim is another invocation's; a lapsed one is finished here
            resumed = None if entry.lease_alive(now) else self.creation.resume(entry, now)
            if resumed is None:
                raise TransientFailure("the booking is being created by another invocation", code="InProgress")
            self.outbox.send(entry.pk, CREATE, resumed)
            return resumed, False
        earlier = self.outbox.again(entry, CREATE.name, now)
        assert earlier is not None  # deferred, active and failed items all hold their create result
        return earlier

    def _verdict(self, content: bytes, result: Result, now: int) -> tuple[Result, bool]:
        return self.outbox.once(hashlib.sha256(content).hexdigest(), result, now)


def _digest(booking: Booking, kind: str) -> bytes:
    return f"{kind}:".encode() + json.dumps(booking.to_dict(), sort_keys=True).encode()
