"""Moves bookings from the dead-letter queue back to the queue once the cause is fixed.

`aws sqs start-message-move-task` does the same move inside SQS; this tool exists for what that
cannot do: run against the local stack, stop after `--limit` messages, and name each message it
could not move. A message is deleted from the DLQ only after the queue accepted its copy (body and
message attributes), so a failure part-way loses nothing: at worst a booking is delivered twice,
which the booking ledger answers as one. The command is `python -m record_task redrive` (record_task/cli/queues.py);
usage is in docs/deploying.md ("Redriving the DLQ").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

ATTRIBUTE_FIELDS = ("DataType", "StringValue", "BinaryValue")  # what SendMessage accepts back


@dataclass(frozen=True)
class Failure:
    """A step that did not happen: `step` is receive, send or delete; `message_id` is empty for receive."""

    step: str
    code: str
    message: str
    message_id: str = ""


@dataclass
class RedriveReport:
    moved: list[str] = field(default_factory=list)  # DLQ message ids now in the queue and gone from the DLQ
    failed: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _failure(step: str, error: ClientError | BotoCoreError, message_id: str = "") -> Failure:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return Failure(step, str(details.get("Code", "ClientError")), str(details.get("Message", error)), message_id)
    return Failure(step, type(error).__name__, str(error), message_id)


def _receive(sqs: Any, dlq_url: str, count: int, wait_seconds: int, visibility: int) -> list[dict[str, Any]] | Failure:
    try:
        response = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility,
            MessageAttributeNames=["All"],
        )
    except (ClientError, BotoCoreError) as error:
        return _failure("receive", error)
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def _copy(sqs: Any, queue_url: str, message: dict[str, Any]) -> Failure | None:
    attributes = {
        name: {key: value[key] for key in ATTRIBUTE_FIELDS if key in value}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"], MessageAttributes=attributes)
    except (ClientError, BotoCoreError) as error:
        return _failure("send", error, message["MessageId"])
    return None


def _delete(sqs: Any, dlq_url: str, message: dict[str, Any]) -> Failure | None:
    try:
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    except (ClientError, BotoCoreError) as error:
        return _failure("delete", error, message["MessageId"])  # copied, but still in the DLQ too
    return None


def redrive(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    *,
    limit: int | None = None,
    wait_seconds: int = 2,
    visibility_timeout: int = 120,
) -> RedriveReport:
    """Moves up to `limit` messages (all by default) from `dlq_url` to `queue_url`.

    A message that fails stays in the DLQ, hidden for `visibility_timeout` seconds; it is not tried
    again in the same run (the run stops when a receive brings only messages it has already seen).
    """
    report = RedriveReport()
    seen: set[str] = set()
    while limit is None or len(seen) < limit:
        count = 10 if limit is None else min(10, limit - len(seen))
        batch = _receive(sqs, dlq_url, count, wait_seconds, visibility_timeout)
        if isinstance(batch, Failure):
            report.failed.append(batch)
            return report
        fresh = [message for message in batch if message["MessageId"] not in seen]
        if not fresh:
            return report
        for message in fresh:
            seen.add(message["MessageId"])
            failure = _copy(sqs, queue_url, message)
            if failure is None:  # deleted only once the queue holds the copy
                failure = _delete(sqs, dlq_url, message)
            if failure is None:
                report.moved.append(message["MessageId"])
            else:
                report.failed.append(failure)
    return report
