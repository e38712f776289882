"""SQS as `handler.queue` meets it, faithfully enough to prove what `batchItemFailures` promises.

Batches of at most ten; only the listed `batchItemFailures` are delivered again (with
`ApproximateReceiveCount` + 1, after the visibility timeout); a message past `maxReceiveCount` moves to
the dead-letter queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tools.lambda_events import FakeContext, sqs_event, sqs_record

QueueHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class Message:
    """One SQS message: the booking it carries and how often it was received."""

    message_id: str
    booking_id: str
    stream_name: str
    body: str
    source: str | None = None
    receive_count: int = 0
    visible_at: float = 0.0


@dataclass
class SqsSimulator:
    """SQS redelivery, faithfully enough to prove what `batchItemFailures` promises."""

    handle: QueueHandler
    max_receive_count: int
    visibility_seconds: float = 1.0
    batch_size: int = 10
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    pending: list[Message] = field(default_factory=list)
    dead_letters: list[Message] = field(default_factory=list)
    deliveries: int = 0
    batches: int = 0
    redeliveries: int = 0

    def send(self, messages: Iterable[Message]) -> None:
        self.pending.extend(messages)

    def run(self, *, give_up_after: float = 3600.0) -> None:
        """Deliver until every message was deleted (handled) or moved to the DLQ."""
        deadline = self.clock() + give_up_after
        while self.pending:
            if self.clock() > deadline:
                raise TimeoutError(f"{len(self.pending)} messages still in flight after {give_up_after} s")
            now = self.clock()
            batch = [m for m in self.pending if m.visible_at <= now][: self.batch_size]
            if not batch:
                self.sleep(max(0.0, min(m.visible_at for m in self.pending) - now))
                continue
            self.deliver(batch)

    def deliver(self, batch: list[Message]) -> None:
        for message in batch:
            self.pending.remove(message)
            message.receive_count += 1
        records = [
            sqs_record(m.body, message_id=m.message_id, receive_count=m.receive_count, source=m.source) for m in batch
        ]
        self.batches += 1
        self.deliveries += len(batch)
        response = self.handle(sqs_event(*records), FakeContext(remaining_ms=60_000))
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in batch:
            if message.message_id not in failed:
                continue  # deleted from the queue
            if message.receive_count >= self.max_receive_count:
                self.dead_letters.append(message)
            else:
                message.visible_at = self.clock() + self.visibility_seconds
                self.pending.append(message)
                self.redeliveries += 1
