"""Moves bookings from the dead-letter queue back to the queue once the cause is fixed.

`aws sqs start-message-move-task` does the same move inside SQS; this tool exists for what that
cannot do: run against the local stack, stop after `--limit` messages, and name each message it
could not move. A message is deleted from the DLQ only after the queue accepted its copy (body and
message attributes), so a failure part-way loses nothing: at worst a booking is delivered twice,
which the booking ledger answers as one. Usage is in docs/deploying.md ("Redriving the DLQ").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

SERVICE = "record-task"  # the osls service name: its stacks are named record-task-<stage>
QUEUE_OUTPUT, DLQ_OUTPUT = "RecordQueueUrl", "DeadLetterQueueUrl"
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


def stack_queue_urls(cloudformation: Any, stack_name: str) -> tuple[str, str] | Failure:
    """(DLQ URL, queue URL) from the deployed stack's outputs."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        return _failure("describe-stack", error)
    outputs = {o["OutputKey"]: o["OutputValue"] for stack in stacks for o in stack.get("Outputs", [])}
    missing = [name for name in (DLQ_OUTPUT, QUEUE_OUTPUT) if name not in outputs]
    if missing:
        return Failure("describe-stack", "MissingOutput", f"stack {stack_name} has no output {', '.join(missing)}")
    return outputs[DLQ_OUTPUT], outputs[QUEUE_OUTPUT]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.redrive", description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--dlq-url", help="the dead-letter queue to empty (with --queue-url)")
    target.add_argument("--stack", help="a deployed stack: its DeadLetterQueueUrl and RecordQueueUrl outputs")
    target.add_argument("--stage", help=f"shorthand for --stack {SERVICE}-<stage>")
    parser.add_argument("--queue-url", help="the queue the messages go back to (with --dlq-url)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)")
    parser.add_argument("--limit", type=int, help="move at most this many messages")
    parser.add_argument("--wait-seconds", type=int, default=2, help="long polling per receive (0-20)")
    parser.add_argument("--visibility-timeout", type=int, default=120, help="seconds a failed message stays hidden")
    arguments = parser.parse_args(argv)
    if arguments.dlq_url and not arguments.queue_url:
        parser.error("--dlq-url needs --queue-url")
    if arguments.queue_url and not arguments.dlq_url:
        parser.error("--queue-url goes with --dlq-url; with --stack or --stage the stack names both")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    session = boto3.session.Session(region_name=arguments.region)
    if arguments.dlq_url:
        urls: tuple[str, str] | Failure = (arguments.dlq_url, arguments.queue_url)
    else:
        stack_name = arguments.stack or f"{SERVICE}-{arguments.stage}"
        urls = stack_queue_urls(session.client("cloudformation"), stack_name)
    if isinstance(urls, Failure):
        print(f"error: {urls.code}: {urls.message}", file=sys.stderr)
        return 2
    dlq_url, queue_url = urls
    report = redrive(
        session.client("sqs"),
        dlq_url,
        queue_url,
        limit=arguments.limit,
        wait_seconds=arguments.wait_seconds,
        visibility_timeout=arguments.visibility_timeout,
    )
    for failure in report.failed:
        print(f"not moved: {failure.message_id or '-'} ({failure.step}) {failure.code}: {failure.message}")
    print(f"moved {len(report.moved)} message(s) from {dlq_url} to {queue_url}; {len(report.failed)} failed")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
