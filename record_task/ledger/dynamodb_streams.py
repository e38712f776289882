"""The stream items and neighbour updates of `DynamoLedger` (docs/contract.md, "Streams"), kept apart so
each class stays one screen: a stream item is written whole, conditional on its version."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from record_task.ledger.items import DUE_SHARD, PUBLISH_GRACE_SECONDS, State
from record_task.ledger.streams import StreamState
from record_task.model.results import Result, TaskRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_DUE = "dueShard = :shard, dueAt = :due, publishUntil = :due"  # the writer publishes; else the sweep, after :due
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoStreamItems:
    _db: DynamoDBClient

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _update(
        self, pk: str, update: str, values: dict[str, Any], condition: str | None, names: dict[str, str] | None = None
    ) -> bool:
        raise NotImplementedError

    def get_stream(self, pk: str) -> StreamState | None:
        item = self._call("get_item", Key=_key(pk), ConsistentRead=True).get("Item")
        return StreamState.from_item(_read(item)) if item else None

    def write_stream(self, state: StreamState, expected_version: int) -> StreamState | None:
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :seen"
        values = {} if expected_version == 0 else {"ExpressionAttributeValues": _serialize({":seen": expected_version})}
        try:
            self._call("put_item", Item=_serialize(state.to_item()), ConditionExpression=condition,
                       ReturnValuesOnConditionCheckFailure="ALL_OLD", **values)  # fmt: skip
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            return StreamState.from_item(_read(old)) if old else StreamState(state.pk)
        return None

    def update_tasks(self, pk: str, result: Result, tasks: tuple[TaskRecord, ...], now: int) -> bool:
        values = {":tasks": [t.to_message() for t in tasks], ":result": result.to_message(), ":action": "update",
                  ":shard": DUE_SHARD, ":due": now + PUBLISH_GRACE_SECONDS, ":active": State.ACTIVE}  # fmt: skip
        change = "SET tasks = :tasks, results.#action = :result, unpublished = :action, " + _DUE
        return self._update(pk, change, values, "#state = :active", {"#action": "update"})


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def _serialize(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v.value if isinstance(v, State) else v) for k, v in values.items()}


def _read(item: Any) -> dict[str, Any]:
    return {k: _int(_deserializer.deserialize(v)) for k, v in item.items()}


def _int(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_int(v) for v in value]
    return int(value) if isinstance(value, Decimal) else value
