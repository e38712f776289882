"""Reads record-task's results from an SQS queue (subscribe.py or subscription.yml made it) and checks
each against the published schema, docs/schemas/result.schema.json, before acting on it.

    python consumer.py --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/record-task-results-ops

Long-polls (20 s), prints one line per result and deletes it. A message that is not a valid result is
left in the queue: after the queue's maxReceiveCount it moves to the dead-letter queue, where it can
be looked at, instead of being lost or handled half-understood.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import jsonschema  # type: ignore[import-untyped]

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "result.schema.json"


def load_validator(path: Path = SCHEMA) -> Any:
    """A JSON Schema 2020-12 validator for result messages (the schema refers only to itself)."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@dataclass
class Batch:
    """What one receive brought: the valid results (deleted from the queue) and the refused messages."""

    results: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[tuple[str, list[str]]] = field(default_factory=list)  # message id, why


def _result_of(body: str) -> Any:
    """The result in a message body: raw delivery, or inside an SNS envelope if raw delivery is off."""
    message = json.loads(body)
    if isinstance(message, dict) and message.get("Type") == "Notification" and "TopicArn" in message:
        return json.loads(message["Message"])
    return message


def receive(sqs: Any, queue_url: str, validator: Any, *, wait_seconds: int = 20) -> Batch:
    """One long poll of up to 10 messages."""
    batch = Batch()
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, MessageAttributeNames=["All"]
    ).get("Messages", [])
    for message in messages:
        try:
            result = _result_of(message["Body"])
        except (ValueError, KeyError, TypeError) as exc:
            batch.invalid.append((message["MessageId"], [f"not JSON: {exc}"]))
            continue
        problems = sorted(
            f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in validator.iter_errors(result)
        )
        if problems:
            batch.invalid.append((message["MessageId"], problems))
            continue  # left for redelivery, then the dead-letter queue
        batch.results.append(result)
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return batch


def describe(result: dict[str, Any]) -> str:
    """One line per result, as an operator would want to read it."""
    line = f"{result['receivedAt']} {result['status']:<18} {result['source']}:{result['bookingId']}"
    if result["error"]:
        line += f" {result['error']['code']} ({result['error']['field']}): {result['error']['message']}"
    if result.get("recording"):
        line += f" file {result['recording']['videoUrl']}"
    return line + "".join(f" task {task['taskId']}" for task in result["tasks"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--schema", type=Path, default=SCHEMA)
    parser.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:5000 for `make stack`'s moto server")
    parser.add_argument("--region", default=None)
    parser.add_argument("--once", action="store_true", help="one long poll, then exit")
    args = parser.parse_args()
    sqs = boto3.session.Session(region_name=args.region).client("sqs", endpoint_url=args.endpoint_url)
    validator = load_validator(args.schema)
    while True:
        batch = receive(sqs, args.queue_url, validator)
        for result in batch.results:
            print(describe(result), flush=True)
        for message_id, problems in batch.invalid:
            print(f"message {message_id} is not a valid result, left for the dead-letter queue: {problems}", flush=True)
        if args.once:
            return


if __name__ == "__main__":
    main()
