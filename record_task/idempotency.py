"""Powertools idempotency as the service's `once`: run a step the first time, replay it after.

Keyed on a caller-chosen string (source + booking id + action), not on the whole event, so a
redelivered message and a retried webhook with other headers meet the same record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from record_task.errors import TransientFailure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Long enough to cover every SQS redelivery and webhook retry; the booking ledger guards beyond it.
EXPIRES_AFTER_SECONDS = 24 * 3600


class IdempotentSteps:
    """Callable as `once(key, work) -> (result message, was_duplicate)`."""

    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self.config = IdempotencyConfig(expires_after_seconds=EXPIRES_AFTER_SECONDS)
        self._store = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb)

    def __call__(self, key: str, work: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        ran = False

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="step", persistence_store=self._store, config=self.config, key_prefix="record-task"
        )
        def step(step: dict[str, str]) -> dict[str, Any]:
            nonlocal ran
            ran = True
            return work()

        try:
            result: dict[str, Any] = step(step={"key": key})
        except IdempotencyAlreadyInProgressError:
            raise TransientFailure("the same booking action is being handled right now", code="InProgress") from None
        return result, not ran
