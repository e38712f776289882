"""A local AWS for tests and the demo: a moto server on loopback with the stack's resources.

The resources mirror serverless.yml (queue + DLQ, results topic with a raw subscription to read
results back, the bookings table with the due index), so code under test talks to
them over real HTTP exactly as it would to AWS.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
# Called on every result read back, with its SNS message attributes: the tests validate each one there.
ResultCheck = Callable[[dict[str, Any], dict[str, str]], None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoStack:
    """The stack's resources on a moto server (queue, DLQ, topic and its reader, table): their names, and
    readers for what the function published."""

    endpoint: str
    prefix: str = "record-task-local"
    max_receive_count: int = 3
    queue_url: str = ""
    dlq_url: str = ""
    results_queue_url: str = ""
    topic_arn: str = ""
    check: ResultCheck | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def bookings_table(self) -> str:
        return f"{self.prefix}-bookings"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            make: Any = boto3.client  # any service by name: the typed overloads want a literal
            self._clients[service] = make(
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[service]

    def env(self) -> dict[str, str]:
        """The function's environment for this stack (docs/contract.md, "Configuration")."""
        return {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "RESULTS_TOPIC_ARN": self.topic_arn,
            "BOOKINGS_TABLE": self.bookings_table,
            "BOOKINGS_QUEUE_URL": self.queue_url,
            "MAX_RECEIVE_COUNT": str(self.max_receive_count),
        }

    def create(self) -> MotoStack:
        sqs, sns, dynamodb = self.client("sqs"), self.client("sns"), self.client("dynamodb")
        self.dlq_url = sqs.create_queue(QueueName=f"{self.prefix}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": self.max_receive_count})
        self.queue_url = sqs.create_queue(
            QueueName=f"{self.prefix}-queue", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "0"}
        )["QueueUrl"]
        self.topic_arn = sns.create_topic(Name=f"{self.prefix}-results")["TopicArn"]
        self.results_queue_url = sqs.create_queue(QueueName=f"{self.prefix}-results-reader")["QueueUrl"]
        reader_arn = sqs.get_queue_attributes(QueueUrl=self.results_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=self.topic_arn, Protocol="sqs", Endpoint=reader_arn, Attributes={"RawMessageDelivery": "true"}
        )
        dynamodb.create_table(
            TableName=self.bookings_table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "dueShard", "AttributeType": "S"},
                {"AttributeName": "dueAt", "AttributeType": "N"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "due-index",
                    "KeySchema": [
                        {"AttributeName": "dueShard", "KeyType": "HASH"},
                        {"AttributeName": "dueAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        return self

    def results(self) -> list[dict[str, Any]]:
        """Every result published since the last call, with its SNS attributes under `_attributes`;
        each passed to `check` first, if one is set."""
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.results_queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                body = json.loads(message["Body"])
                attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
                sqs.delete_message(QueueUrl=self.results_queue_url, ReceiptHandle=message["ReceiptHandle"])
                if self.check is not None:
                    self.check(body, attributes)
                body["_attributes"] = attributes
                found.append(body)

    def reset(self) -> MotoStack:
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")).read()
        self._clients.clear()
        return self.create()


class OneRequestAtATime:
    """Real DynamoDB applies each request atomically; moto's backends take no lock, so two concurrent
    conditional puts on one key can both succeed (and two copies of a booking both claim it). Serving
    one request at a time gives the stand-in the guarantee the ledger relies on."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


def moto_wsgi_server(port: int) -> BaseWSGIServer:
    """moto's own app (as `moto.server` builds it), threaded for I/O but atomic per request."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    app = OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
    return make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """A moto server on 127.0.0.1 in a thread of this process; yields its endpoint URL."""
    server = moto_wsgi_server(port or free_port())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


def main() -> None:
    """`python -m tools.local_aws --port N`: the same server in a process of its own (the bench's AWS)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    moto_wsgi_server(parser.parse_args().port).serve_forever()


if __name__ == "__main__":
    main()
