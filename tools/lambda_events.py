"""Real-shaped Lambda events (SQS, API Gateway HTTP API 2.0 / REST 1.0, EventBridge schedule)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:record-task-dev-queue"


@dataclass
class FakeContext:
    """The parts of LambdaContext the handlers and Powertools read."""

    function_name: str = "record-task-dev-queue"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:record-task-dev-queue"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 29_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sqs_record(
    body: Any, *, message_id: str | None = None, receive_count: int = 1, source: str | None = None
) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    attributes = (
        {"source": {"stringValue": source, "dataType": "String", "stringListValues": [], "binaryListValues": []}}
        if source
        else {}
    )
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1764000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1764000000000",
        },
        "messageAttributes": attributes,
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def http_event(
    path: str,
    body: str | bytes,
    headers: dict[str, str] | None = None,
    *,
    base64_body: bool = False,
    version: str = "2.0",
    method: str = "POST",
) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else body
    text = base64.b64encode(raw).decode() if base64_body else raw.decode()
    now = datetime.now(tz=UTC)
    if version == "2.0":
        return {
            "version": "2.0",
            "routeKey": f"{method} {path}",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.example.com",
                "domainPrefix": "api",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "test",
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": f"{method} {path}",
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "body": text,
            "isBase64Encoded": base64_body,
        }
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }


def scheduled_event(epoch: int) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/record-task-sweep"],
        "detail": {},
    }


def direct(booking_id: str, start: int | str, end: int | str, **values: Any) -> dict[str, Any]:
    return {"BookingId": booking_id, "StreamName": f"room-{booking_id}", "StartTime": start, "EndTime": end, **values}
