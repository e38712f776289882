"""Where results go: the SNS results topic, behind a small interface with an in-memory twin for tests."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools import Logger

from record_task.errors import PermanentFailure, aws_failure
from record_task.model.results import Result

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

logger = Logger(service="record-task", child=True)


class Publisher(Protocol):
    def publish(self, result: Result) -> None:
        """Send one result, or raise a `RecordTaskError` saying whether a retry may succeed."""


class SnsPublisher:
    """Publishes results to the topic, with `status` and `source` attributes for filter policies."""

    def __init__(self, topic_arn: str, sns: SNSClient) -> None:
        self._topic_arn = topic_arn
        self._sns = sns

    def publish(self, result: Result) -> None:
        attributes = {"status": {"DataType": "String", "StringValue": result.status}}
        if result.source:
            attributes["source"] = {"DataType": "String", "StringValue": result.source}
        try:
            self._sns.publish(
                TopicArn=self._topic_arn,
                Message=json.dumps(result.to_message(), separators=(",", ":")),
                MessageAttributes=attributes,  # type: ignore[arg-type]
            )
        except Exception as exc:  # botocore raises many unrelated types: classified by their code
            failure = aws_failure(exc, "publishing the result", "PublishFailed")
            if isinstance(failure, PermanentFailure):
                logger.error("SNS refused a message the function built: a bug", extra={"error": failure.code})
            raise failure from exc


class MemoryPublisher:
    """The in-memory twin: keeps every published result, in order."""

    def __init__(self) -> None:
        self.results: list[Result] = []
        self._lock = threading.Lock()

    def publish(self, result: Result) -> None:
        with self._lock:
            self.results.append(result)
