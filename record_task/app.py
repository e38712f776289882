"""Wiring: settings and clients built once per Lambda container, shared by the three entry points.

Each transport is built (and its Powertools utility imported) on first use: a webhook container never
loads the batch processor, a queue container never loads the HTTP resolver (cold starts, BENCHMARKS.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from record_task.cancellation import Cancellation
from record_task.config import Settings
from record_task.creation import TaskCreation
from record_task.decision import BookingDecision, iso
from record_task.errors import TransientFailure
from record_task.ledger import BookingLedger
from record_task.live import LiveApi
from record_task.outcomes import Announcer
from record_task.recordings import Recordings
from record_task.results import ResultPublisher
from record_task.sweep import Sweep

if TYPE_CHECKING:
    from record_task.queue import QueueConsumer
    from record_task.webhook import Webhook

logger = Logger(service="record-task", child=True)
DEFAULT_SWEEP_SECONDS = 900.0  # Lambda's longest run, for a sweep invoked without a context


@dataclass
class App:
    settings: Settings
    decision: BookingDecision
    recordings: Recordings
    sweeper: Sweep
    ledger: BookingLedger
    live: LiveApi
    announcer: Announcer
    clock: Callable[[], float] = time.time

    @cached_property
    def queue(self) -> QueueConsumer:
        from record_task.queue import QueueConsumer

        return QueueConsumer(self.decision, self.settings, self.clock)

    @cached_property
    def webhook(self) -> Webhook:
        from record_task.webhook import Webhook

        return Webhook(self.decision, self.recordings, self.settings, self.clock)

    def sweep(self, event: Mapping[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """Activate due deferred bookings; the scheduled event's `time` is the clock."""
        now = sweep_time(event)
        started = time.monotonic()
        budget = context.get_remaining_time_in_millis() / 1000 if context else DEFAULT_SWEEP_SECONDS
        try:
            summary = self.sweeper.run(now, iso(now), time_left=lambda: budget - (time.monotonic() - started))
        except TransientFailure as exc:  # the due index could not be read: the next run tries again
            logger.error("sweep failed", extra={"error": exc.code, "cause": exc.message})
            self.announcer.count("SweepFailed")
            return {"time": now, "error": exc.info.to_dict()}
        return {"time": now, **summary}


def sweep_time(event: Mapping[str, Any]) -> int:
    """EventBridge's `time` (ISO 8601, Z); a hand-made invocation without it uses the wall clock."""
    value = event.get("time") if isinstance(event, Mapping) else None
    if isinstance(value, str) and value:
        try:
            return int(datetime.fromisoformat(value).timestamp())
        except ValueError:
            logger.warning("event time is not ISO 8601; using the wall clock", extra={"time": value[:64]})
    return int(time.time())


def build_app(
    env: Mapping[str, str] | None = None,
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.time,
) -> App:
    settings = Settings.from_env(env)
    ledger = BookingLedger(settings.bookings_table, boto3.client("dynamodb"))
    announcer = Announcer(ledger, ResultPublisher(settings.results_topic_arn, boto3.client("sns")), metrics)
    live = LiveApi.from_settings(settings)
    creation = TaskCreation(settings, live, ledger)
    cancellation = Cancellation(live, ledger, creation, announcer)
    decision = BookingDecision(settings, ledger, creation, cancellation, announcer)
    return App(
        settings=settings,
        decision=decision,
        recordings=Recordings(ledger, announcer),
        sweeper=Sweep(settings, ledger, creation, announcer),
        ledger=ledger,
        live=live,
        announcer=announcer,
        clock=clock,
    )
