"""The webhook's way out when it cannot carry a booking out in time: the booking queue (docs/contract.md,
"Nothing valid is refused"). The message is the body as the sender signed it, with its `source` attribute,
so `handler.queue` reads it exactly as the webhook did."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from record_task.errors import aws_failure

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class Handoff(Protocol):
    def send(self, body: str, source: str) -> None:
        """Queue one webhook body, or raise a `RecordTaskError`."""


class SqsHandoff:
    def __init__(self, queue_url: str, sqs: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._sqs = sqs

    def send(self, body: str, source: str) -> None:
        if self._sqs is None:  # built on first use: most webhook containers never queue anything
            import boto3

            self._sqs = boto3.client("sqs")
        attributes = {"source": {"DataType": "String", "StringValue": source}}
        try:
            self._sqs.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                MessageAttributes=attributes,  # type: ignore[arg-type]
            )
        except Exception as exc:  # botocore raises many unrelated types: classified by their code
            raise aws_failure(exc, "queueing the booking", "QueueUnavailable") from exc
