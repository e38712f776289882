"""The outbox: a result is stored in the ledger first, then published, then marked published.

Storing first is what makes a lost publish recoverable: a redelivery, a retried webhook, a repeated
callback or the sweep finds the result still unpublished and sends it, without deciding (or creating)
again. Of concurrent copies only one holds the right to publish (`Ledger.take_publish`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from record_task.errors import RecordTaskError
from record_task.ledger.items import VERDICT, Entry, Slot, State
from record_task.ledger.publisher import Publisher
from record_task.ledger.store import Ledger
from record_task.model.results import Result

logger = Logger(service="record-task", child=True)


@dataclass(frozen=True)
class Outcome:
    """What handling one message produced: results in publish order, and whether it was a repeat."""

    results: tuple[Result, ...]
    duplicate: bool = False

    @classmethod
    def combined(cls, outcomes: list[Outcome]) -> Outcome:
        """One message's bookings (a source may carry several): a repeat only if every one was."""
        return cls(tuple(r for o in outcomes for r in o.results), all(o.duplicate for o in outcomes))

    @property
    def primary(self) -> Result:
        """The result a webhook answers with: the last step (a reschedule's create)."""
        return self.results[-1]


@dataclass(frozen=True)
class Outbox:
    ledger: Ledger
    publisher: Publisher
    metrics: Metrics | None = None

    def send(self, pk: str, slot: Slot, result: Result, *, still_due: bool = False) -> None:
        """Publish a stored result this invocation holds the right to, then mark it published; a failed
        publish hands the right back for the next delivery."""
        try:
            self.publish(result)
        except RecordTaskError:
            self.ledger.release_publish(pk, slot)
            raise
        self.ledger.mark_published(pk, slot, still_due=still_due)

    def resend(self, pk: str, slot: Slot, result: Result, now: int, *, still_due: bool = False) -> bool:
        """Publish a stored result an earlier attempt failed to send, unless another copy of the message is
        sending it right now (then False)."""
        if not self.ledger.take_publish(pk, slot, now):
            return False
        self.send(pk, slot, result, still_due=still_due)
        return True

    def again(self, entry: Entry, action: str, now: int) -> tuple[Result, bool] | None:
        """A booking's stored result for `action`, met again: sent now if a crash left it unpublished (not a
        repeat), else a repeat. None when nothing is stored under `action`."""
        stored = entry.result(action)
        if stored is None:
            return None
        still_due = entry.state == State.DEFERRED
        if entry.unpublished == action and self.resend(entry.pk, Slot(action), stored, now, still_due=still_due):
            return stored, False
        return stored, True

    def once(self, digest: str, result: Result, now: int) -> tuple[Result, bool]:
        """A verdict remembered by the digest of what produced it: published once, then repeated."""
        pk = "verdict#" + digest
        entry = Entry(pk, State.VERDICT, None, results={VERDICT.name: result.to_message()}, unpublished=VERDICT.name)
        earlier = self.ledger.insert(entry, now, expires=True)
        if earlier is None:
            self.send(pk, VERDICT, result)
            return result, False
        return self.again(earlier, VERDICT.name, now) or (result, True)

    def publish(self, result: Result) -> None:
        """Publish a result that is not kept in the ledger (a last-delivery `failed`)."""
        self.publisher.publish(result)
        self.count(result.status)
        logger.info("result published", extra={"status": result.status, "booking_id": result.booking_id})

    def count(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
