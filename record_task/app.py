"""Wiring: settings and clients built once per Lambda container, shared by the three entry points."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from record_task.config import Settings
from record_task.idempotency import IdempotentSteps
from record_task.ledger import BookingLedger
from record_task.live import LiveApi
from record_task.queue import QueueConsumer
from record_task.results import ResultPublisher
from record_task.service import BookingService
from record_task.webhook import Webhook

logger = Logger(service="record-task", child=True)


@dataclass
class App:
    settings: Settings
    service: BookingService
    queue: QueueConsumer
    webhook: Webhook
    idempotency: IdempotentSteps

    def sweep(self, event: Mapping[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """Activate due deferred bookings; the scheduled event's `time` is the clock."""
        now = sweep_time(event)
        started = time.monotonic()
        budget = context.get_remaining_time_in_millis() / 1000 if context else 900.0
        summary = self.service.sweep(now, time_left=lambda: budget - (time.monotonic() - started))
        return {"time": now, **summary.to_dict()}


def sweep_time(event: Mapping[str, Any]) -> int:
    """EventBridge's `time` (ISO 8601, Z); a hand-made invocation without it uses the wall clock."""
    value = event.get("time") if isinstance(event, Mapping) else None
    if isinstance(value, str) and value:
        try:
            return int(datetime.fromisoformat(value).timestamp())
        except ValueError:
            logger.warning("event time is not ISO 8601; using the wall clock", extra={"time": value})
    return int(time.time())


def build_app(
    env: Mapping[str, str] | None = None,
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.time,
) -> App:
    settings = Settings.from_env(env)
    dynamodb = boto3.client("dynamodb")
    idempotency = IdempotentSteps(settings.idempotency_table, dynamodb)
    service = BookingService(
        settings,
        live=LiveApi.from_settings(settings),
        ledger=BookingLedger(settings.bookings_table, dynamodb),
        publisher=ResultPublisher(settings.results_topic_arn, boto3.client("sns")),
        once=idempotency,
        metrics=metrics,
    )
    return App(
        settings=settings,
        service=service,
        queue=QueueConsumer(service, settings, clock),
        webhook=Webhook(service, settings, clock),
        idempotency=idempotency,
    )
