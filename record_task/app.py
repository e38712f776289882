"""Wiring: settings and clients built once per Lambda container, shared by the three entry points.

Each transport is built (and its Powertools utility imported) on first use: a webhook container never
loads the batch processor, a queue container never loads the HTTP resolver, and only what handles a
callback or a sweep loads the recordings or the sweep (cold starts, BENCHMARKS.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from record_task.bookings.cancellation import Cancellation
from record_task.bookings.creation import TaskCreation
from record_task.bookings.decision import BookingDecision
from record_task.bookings.stream_tasks import StreamTasks
from record_task.config import Settings
from record_task.errors import TransientFailure
from record_task.ledger.outbox import Outbox
from record_task.ledger.publisher import Publisher
from record_task.ledger.store import Ledger

if TYPE_CHECKING:
    from record_task.bookings.sweep import Sweep
    from record_task.recordings.reports import Recordings
    from record_task.tencent.tasks import TaskApi
    from record_task.transports.http import Webhook
    from record_task.transports.sqs import QueueConsumer

logger = Logger(service="record-task", child=True)
DEFAULT_SWEEP_SECONDS = 900.0  # Lambda's longest run, for a sweep invoked without a context


@dataclass
class App:
    settings: Settings
    decision: BookingDecision
    ledger: Ledger
    api: TaskApi
    outbox: Outbox
    clock: Callable[[], float] = time.time

    @cached_property
    def recordings(self) -> Recordings:
        from record_task.recordings.reports import Recordings

        return Recordings(self.ledger, self.outbox)

    @cached_property
    def sweeper(self) -> Sweep:
        from record_task.bookings.sweep import Sweep

        return Sweep(self.settings, self.ledger, self.decision.creation, self.outbox)

    @cached_property
    def queue(self) -> QueueConsumer:
        from record_task.transports.sqs import QueueConsumer

        return QueueConsumer(self.decision, self.settings, self.clock)

    @cached_property
    def webhook(self) -> Webhook:
        from record_task.transports.handoff import SqsHandoff
        from record_task.transports.http import Webhook

        queue_url = self.settings.bookings_queue_url
        handoff = SqsHandoff(queue_url) if queue_url else None
        return Webhook(self.decision, lambda: self.recordings, self.settings, self.clock, handoff)

    def sweep(self, event: Mapping[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """Activate due deferred bookings; the scheduled event's `time` is the clock."""
        now = sweep_time(event)
        started = time.monotonic()
        budget = context.get_remaining_time_in_millis() / 1000 if context else DEFAULT_SWEEP_SECONDS
        try:
            summary = self.sweeper.run(now, time_left=lambda: budget - (time.monotonic() - started))
        except TransientFailure as exc:  # the due index could not be read: the next run tries again
            logger.error("sweep failed", extra={"error": exc.code, "cause": exc.message})
            self.outbox.count("SweepFailed")
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
    """The deployed wiring: DynamoDB, SNS and the Tencent SDK."""
    import boto3

    from record_task.ledger.dynamodb import DynamoLedger
    from record_task.ledger.publisher import SnsPublisher
    from record_task.tencent.api import RecordTaskApi

    settings = Settings.from_env(env)
    ledger = DynamoLedger(settings.bookings_table, boto3.client("dynamodb"))
    publisher = SnsPublisher(settings.results_topic_arn, boto3.client("sns"))
    return assemble(settings, ledger, publisher, RecordTaskApi.from_settings(settings), metrics, clock)


def assemble(
    settings: Settings,
    ledger: Ledger,
    publisher: Publisher,
    api: TaskApi,
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.time,
) -> App:
    """The booking logic over any ledger, publisher and API: the in-memory twins in fast tests."""
    outbox = Outbox(ledger, publisher, metrics)
    creation = TaskCreation(settings, api, ledger, StreamTasks(api, ledger, outbox))
    cancellation = Cancellation(api, ledger, creation, outbox)
    return App(
        settings=settings,
        decision=BookingDecision(settings, ledger, creation, cancellation, outbox),
        ledger=ledger,
        api=api,
        outbox=outbox,
        clock=clock,
    )
