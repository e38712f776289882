"""The SQS transport: each record parsed, run through the service concurrently, failures reported.

Only transient failures are listed in `batchItemFailures`: SQS redelivers those and, after
`maxReceiveCount`, moves them to the dead-letter queue, with a `failed` result published on the
last attempt. Everything else ends with a published result and is not retried.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from record_task.bookings.decision import BookingDecision
from record_task.config import Settings
from record_task.errors import InvalidBooking, OperatorError, RecordTaskError, TransientFailure
from record_task.ledger.outbox import Outcome
from record_task.model.booking import Booking
from record_task.sources.bodies import parse_json_body, unwrap_sns
from record_task.sources.registry import parse_bookings, source_named

logger = Logger(service="record-task", child=True)
BATCH_WORKERS = 10  # SQS delivers at most 10 records per batch: one thread each


class QueueConsumer:
    """`handler.queue`: a batch in, `{"batchItemFailures": [...]}` out, never an exception."""

    def __init__(self, decision: BookingDecision, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._decision = decision
        self._settings = settings
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=BATCH_WORKERS, thread_name_prefix="record")

    def __call__(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
            logger.error("not an SQS event (no Records list): there is no message to process or retry")
            return {"batchItemFailures": []}
        records = [r for r in event["Records"] if isinstance(r, dict) and isinstance(r.get("messageId"), str)]
        if len(records) < len(event["Records"]):  # SQS never sends these; a hand-made invocation might
            logger.error(
                "records without a messageId cannot be processed or retried",
                extra={"count": len(event["Records"]) - len(records)},
            )
        if not records:
            return {"batchItemFailures": []}
        processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        batch = {**event, "Records": records}
        return dict(async_process_partial_response(batch, self._handle_async, processor, context))

    async def _handle_async(self, record: SQSRecord) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.handle_record, record)

    def handle_record(self, record: SQSRecord) -> str:
        """One record: returns its result status, or raises to have SQS deliver it again."""
        logger.thread_safe_append_keys(message_id=record.message_id)  # on every line this thread logs
        try:
            return self._handle(record)
        finally:
            logger.thread_safe_clear_keys()

    def _handle(self, record: SQSRecord) -> str:
        now = int(self._clock())
        source: str | None = None
        try:
            attribute = record.message_attributes["source"]
            source = source_named(attribute.string_value).name if attribute is not None else None
            body, declared = unwrap_sns(parse_json_body(record.body or ""), source)
            named = source_named(declared) if declared is not None else None
            source = named.name if named is not None else None
            bookings = parse_bookings(body, named)
        except InvalidBooking as exc:
            self._decision.reject(exc, record.body or "", now, source)
            logger.info("message rejected", extra={"field": exc.field})
            return "rejected"
        outcome = Outcome.combined([self._one(booking, record, now) for booking in bookings])
        return outcome.primary.status

    def _one(self, booking: Booking, record: SQSRecord, now: int) -> Outcome:
        """One booking of the message; raises to have SQS deliver the message again."""
        logger.thread_safe_append_keys(booking_id=booking.booking_id, source=booking.source)
        try:
            outcome = self._decision.handle(booking, now)
        except Exception as exc:
            error = exc if isinstance(exc, RecordTaskError) else TransientFailure(f"unexpected error: {exc!r}")
            if not isinstance(exc, RecordTaskError):
                logger.exception("unexpected error")
            deliveries = int(record.attributes.approximate_receive_count or 1)
            if isinstance(error, OperatorError):  # nothing is final: a redrive after the fix creates the task
                logger.error("held until the operator acts", extra={"error": error.code, "cause": error.message})
                self._decision.outbox.count(OperatorError.metric)
            if deliveries >= self._settings.max_receive_count:
                logger.error("last delivery failed; moving to the dead-letter queue")
                self._decision.give_up(booking, error, now)
            elif not isinstance(error, OperatorError):
                logger.warning(
                    "transient failure; SQS will redeliver", extra={"error": error.code, "cause": error.message}
                )
            raise
        logger.info("booking handled", extra={"status": outcome.primary.status, "duplicate": outcome.duplicate})
        return outcome
