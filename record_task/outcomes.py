"""Publishing what the ledger decided: a result is stored first, then published, then marked published.

Storing first is what makes a lost publish recoverable: a redelivery, a retried webhook or the sweep
finds the result still marked `unpublished` and sends it, without deciding (or creating) again.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from record_task.errors import TransientFailure
from record_task.ledger import BookingLedger, Entry, State
from record_task.results import Result, ResultPublisher

logger = Logger(service="record-task", child=True)


@dataclass(frozen=True)
class Outcome:
    """What handling one message produced: results in publish order, and whether it was a repeat."""

    results: tuple[Result, ...]
    duplicate: bool = False

    @property
    def primary(self) -> Result:
        """The result a webhook answers with: the last step (a reschedule's create)."""
        return self.results[-1]


@dataclass(frozen=True)
class Announcer:
    """Publishes results to SNS and tells the ledger they went out; counts them as metrics."""

    ledger: BookingLedger
    publisher: ResultPublisher
    metrics: Metrics | None = None

    def announce(self, pk: str, action: str, result: Result, *, still_due: bool = False) -> None:
        """Publish a result the ledger holds as unpublished under `action` (this invocation holds the right
        to), then mark it published; a failed publish hands the right back for the next delivery."""
        try:
            self.publish(result)
        except TransientFailure:
            self.ledger.release_publish(pk, action)
            raise
        self.ledger.mark_published(pk, action, still_due=still_due)

    def republish(self, entry: Entry, action: str, result: Result, now: int) -> bool:
        """Publish a stored result an earlier attempt failed to, unless another copy of the message is
        publishing it right now (then False: this copy is a duplicate)."""
        if not self.ledger.take_publish(entry.pk, action, now):
            return False
        self.announce(entry.pk, action, result, still_due=entry.state == State.DEFERRED)
        return True

    def once(self, digest: str, result: Result, now: int) -> tuple[Result, bool]:
        """A verdict remembered by the digest of what produced it: published once, then repeated.

        Returns the verdict (the first one, for a repeat) and whether it was a repeat."""
        pk = "verdict#" + digest
        entry = Entry(pk, State.VERDICT, None, results={"verdict": result.to_message()}, unpublished="verdict")
        earlier = self.ledger.insert(entry, now, expires=True)
        if earlier is None:
            self.announce(pk, "verdict", result)
            return result, False
        stored = earlier.result("verdict") or result
        if earlier.unpublished == "verdict" and self.republish(earlier, "verdict", stored, now):
            return stored, False  # kept, but its publish failed: this delivery sent it
        return stored, True

    def publish(self, result: Result) -> None:
        """Publish a result that is not kept in the ledger (a last-delivery `failed`)."""
        self.publisher.publish(result)
        self.count(result.status)
        logger.info("result published", extra={"status": result.status, "booking_id": result.booking_id})

    def count(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
