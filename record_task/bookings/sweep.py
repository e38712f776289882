"""The sweep: on a schedule, creates the tasks of deferred bookings that came within the API's horizon,
and publishes any result a crash or a failed publish left unpublished (docs/contract.md, "Deferral")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any

from aws_lambda_powertools import Logger

from record_task.bookings.creation import TaskCreation
from record_task.config import Settings
from record_task.errors import OperatorError, TransientFailure
from record_task.ledger.items import CREATE, Entry, State, Unreadable
from record_task.ledger.outbox import Outbox
from record_task.ledger.store import Ledger
from record_task.model.results import Result

logger = Logger(service="record-task", child=True)
MIN_SECONDS_LEFT = 5  # an item is not started with less time than this left in the invocation
WORKERS = 16


@dataclass(frozen=True)
class Sweep:
    settings: Settings
    ledger: Ledger
    creation: TaskCreation
    outbox: Outbox

    def run(self, now: int, time_left: Callable[[], float]) -> dict[str, Any]:
        """Every due item once; what fails transiently or is not reached in time stays due."""
        due = list(islice(self.ledger.due(now), self.settings.sweep_batch_limit))
        entries = [item for item in due if isinstance(item, Entry)]
        for item in due:
            if isinstance(item, Unreadable):  # another version's item, or damaged: skipped, never a stop
                logger.error("due item cannot be read; skipped", extra={"pk": item.pk, "error": item.error})
                self.outbox.count("UnreadableItem")
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            outcomes = list(pool.map(lambda e: self._safely(e, now, time_left), entries))
        counts = Counter(status for status, _ in outcomes)
        if counts["error"]:
            self.outbox.count("SweepFailed")
        return {
            "due": len(due),
            "unreadable": len(due) - len(entries),
            **{name: counts[name] for name in ("created", "rejected", "failed", "republished", "skipped")},
            "retryLater": counts["retry_later"] + counts["error"] + counts["held"],
            "held": counts["held"],
            "errors": counts["error"],
            "bookingIds": [booking_id for status, booking_id in outcomes if booking_id],
        }

    def _safely(self, entry: Entry, now: int, time_left: Callable[[], float]) -> tuple[str, str | None]:
        """One item; a failure leaves it due and never ends the sweep for the others."""
        if time_left() < MIN_SECONDS_LEFT:
            return "retry_later", None
        try:
            return self._one(entry, now)
        except OperatorError as exc:  # keys, permissions: held, never final; every sweep tries again
            logger.error("due item held until the operator acts", extra={"pk": entry.pk, "error": exc.code})
            self.outbox.count(OperatorError.metric)
            return "held", None
        except TransientFailure as exc:
            logger.warning("due item stays due", extra={"pk": entry.pk, "error": exc.code, "cause": exc.message})
        except Exception:
            logger.exception("due item failed; it stays due", extra={"pk": entry.pk})
        return "error", None

    def _one(self, entry: Entry, now: int) -> tuple[str, str | None]:
        # decided, but the publish was lost (and nobody else is publishing it now)
        again = self.outbox.again(entry, entry.unpublished, now) if entry.unpublished else None
        republished = again is not None and not again[1]
        if entry.state not in (State.DEFERRED, State.CREATING):
            return ("republished" if republished else "skipped"), None
        if entry.lease_alive(now):
            return "retry_later", None  # another invocation is creating it now
        result: Result | None = self.creation.resume(entry, now)
        if result is None:
            return "skipped", None  # another sweep or a cancellation got there first
        self.outbox.send(entry.pk, CREATE, result)
        return result.status, result.booking_id
