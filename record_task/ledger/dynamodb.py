"""The booking ledger in DynamoDB (`BOOKINGS_TABLE`): each booking's single source of truth.

Exactly-once rests on this table alone (docs/contract.md, "Exactly once"): one item per booking, created
by a conditional put whose loser reads the winner's item from the same request, and every later change a
conditional write on a move of `items.TRANSITIONS`. A result is stored with the change that made it and
stays `unpublished` (and in the sparse `due-index`) until SNS took it, so the sweep finishes what a crash
left.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from record_task.errors import PermanentFailure, aws_failure
from record_task.ledger.dynamodb_streams import _DUE, DynamoStreamItems
from record_task.ledger.items import (
    CALLBACK_GRACE_SECONDS,
    DUE_SHARD,
    PUBLISH_GRACE_SECONDS,
    Entry,
    Slot,
    State,
    Unreadable,
    check_move,
    new_item,
    pointer_item,
    read_item,
    recording_record,
    task_key,
)
from record_task.model.results import Result, TaskRecord
from record_task.model.tasks import RecordTaskRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(service="record-task", child=True)
DUE_INDEX = "due-index"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoLedger(DynamoStreamItems):
    """`record_task.ledger.store.Ledger` on one DynamoDB table; knows nothing about the API."""

    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self._table = table
        self._db = dynamodb

    def get(self, pk: str) -> Entry | None:
        item = self._call("get_item", Key=_key(pk), ConsistentRead=True).get("Item")
        return _entry(item) if item else None

    def insert(self, entry: Entry, now: int, *, due_at: int | None = None, expires: bool = False) -> Entry | None:
        check_move("insert", None, entry.state)
        try:
            self._call("put_item", Item=_serialize(new_item(entry, now, due_at, expires)),
                       ConditionExpression="attribute_not_exists(pk)",
                       ReturnValuesOnConditionCheckFailure="ALL_OLD")  # fmt: skip
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            return _entry(cast(dict[str, Any], old)) if old else self.get(entry.pk)
        return None

    def take(self, entry: Entry, lease_until: int, now: int, requests: tuple[RecordTaskRequest, ...]) -> bool:
        """A deferred booking stays in the due index until `finish`, so a later sweep retries a failed attempt."""
        check_move("take", entry.state, State.CREATING)
        values = {":creating": State.CREATING, ":deferred": State.DEFERRED, ":now": now, ":until": lease_until,
                  ":requests": [r.to_dict() for r in requests], ":seen": entry.lease_until}  # fmt: skip
        condition = "#state = :deferred OR (#state = :creating AND leaseUntil <= :now AND leaseUntil = :seen)"
        return self._update(
            entry.pk, "SET #state = :creating, leaseUntil = :until, requests = :requests", values, condition
        )

    def release(self, pk: str, lease_until: int, held: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {":zero": 0, ":mine": lease_until, ":held": held}
        update = "SET leaseUntil = :zero"
        self._update(pk, update + (", held = :held" if held else ""), values, "leaseUntil = :mine")

    def finish(
        self, pk: str, lease_until: int, state: State, result: Result, tasks: tuple[TaskRecord, ...], now: int
    ) -> bool:
        """Each task's pointer is written first: a task belongs to its booking whichever attempt ends the
        claim, so no transaction is needed."""
        check_move("finish", State.CREATING, state)
        for task in tasks:
            if task.booking_id is None:  # a neighbour's task points at the neighbour
                self.link(task_key(task.task_id), pk, task.task_id, now)
        values = {":state": state, ":tasks": [t.to_message() for t in tasks], ":result": result.to_message(),
                  ":action": "create", ":shard": DUE_SHARD, ":due": now + PUBLISH_GRACE_SECONDS,
                  ":creating": State.CREATING, ":mine": lease_until}  # fmt: skip
        change = "SET #state = :state, tasks = :tasks, results.#action = :result, unpublished = :action, " + _DUE
        condition = "#state = :creating AND leaseUntil = :mine"
        return self._update(pk, change + " REMOVE leaseUntil, held", values, condition, {"#action": "create"})

    def cancel(self, entry: Entry, result: Result, tasks: tuple[TaskRecord, ...], now: int) -> bool:
        check_move("cancel", entry.state, State.CANCELLED)
        values = {":cancelled": State.CANCELLED, ":tasks": [t.to_message() for t in tasks],
                  ":result": result.to_message(), ":action": "cancel", ":shard": DUE_SHARD,
                  ":due": now + PUBLISH_GRACE_SECONDS, ":expected": entry.state}  # fmt: skip
        change = "SET #state = :cancelled, tasks = :tasks, results.#action = :result, unpublished = :action, " + _DUE
        return self._update(entry.pk, change, values, "#state = :expected", {"#action": "cancel"})

    def take_publish(self, pk: str, slot: Slot, now: int) -> bool:
        if slot.recording:
            values: dict[str, Any] = {":no": False, ":now": now, ":until": now + CALLBACK_GRACE_SECONDS}
            condition = "recordings.#name.published = :no AND recordings.#name.publishUntil <= :now"
            names = {"#name": slot.name}
            return self._update(pk, "SET recordings.#name.publishUntil = :until", values, condition, names)
        values = {":action": slot.name, ":now": now, ":until": now + PUBLISH_GRACE_SECONDS}
        return self._update(pk, "SET publishUntil = :until", values, "unpublished = :action AND publishUntil <= :now")

    def release_publish(self, pk: str, slot: Slot) -> None:
        if slot.recording:
            self._update(pk, "SET recordings.#name.publishUntil = :zero", {":zero": 0}, None, {"#name": slot.name})
        else:
            self._update(pk, "SET publishUntil = :zero", {":zero": 0, ":action": slot.name}, "unpublished = :action")

    def mark_published(self, pk: str, slot: Slot, *, still_due: bool = False) -> None:
        """A lost condition means another result replaced it, or another invocation marked it."""
        if slot.recording:
            self._update(pk, "SET recordings.#name.published = :yes", {":yes": True}, None, {"#name": slot.name})
            return
        update = "REMOVE unpublished, publishUntil" + ("" if still_due else ", dueShard, dueAt")
        self._update(pk, update, {":action": slot.name}, "unpublished = :action")

    def due(self, now: int, page_size: int = 100) -> Iterator[Entry | Unreadable]:
        """The sparse due index, never a scan."""
        kwargs: dict[str, Any] = {
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "dueShard = :shard AND dueAt <= :now",
            "ExpressionAttributeValues": _serialize({":shard": DUE_SHARD, ":now": now}),
            "Limit": page_size,
        }
        while True:
            page = self._call("query", **kwargs)
            yield from (read_item(_plain_item(item)) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def owner(self, pointer: str) -> tuple[Entry, str] | None:
        item = self._call("get_item", Key=_key(pointer), ConsistentRead=True).get("Item")
        entry = self.get(item["bookingPk"]["S"]) if item else None
        return (entry, item["taskId"]["S"]) if item and entry else None

    def link(self, pointer: str, booking_pk: str, task_id: str, now: int) -> None:
        self._call("put_item", Item=_serialize(pointer_item(pointer, booking_pk, task_id, now)))

    def add_recording(self, pk: str, name: str, result: Result, status: str | None, now: int) -> Entry | None:
        values: dict[str, Any] = {":record": recording_record(result, now)}
        update = "SET recordings.#name = :record"
        if status is not None:
            update, values[":status"] = update + ", lastRecordingStatus = :status", status
        if self._update(pk, update, values, "attribute_not_exists(recordings.#name)", {"#name": name}):
            return None
        return self.get(pk)

    # -- DynamoDB plumbing -------------------------------------------------------------------------------

    def _update(
        self, pk: str, update: str, values: dict[str, Any], condition: str | None, names: dict[str, str] | None = None
    ) -> bool:
        """A conditional update of an existing item: True when made, False when its condition did not hold."""
        condition = "attribute_exists(pk)" + (f" AND ({condition})" if condition else "")
        names = {**({"#state": "state"} if "#state" in update + condition else {}), **(names or {})}
        request: dict[str, Any] = {"Key": _key(pk), "UpdateExpression": update, "ConditionExpression": condition}
        used = {k: v for k, v in values.items() if k in update + condition}
        if used:
            request["ExpressionAttributeValues"] = _serialize(used)
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._call("update_item", **request)
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("TableName", self._table)
        try:
            return cast(dict[str, Any], getattr(self._db, operation)(**kwargs))
        except self._db.exceptions.ConditionalCheckFailedException:
            raise  # the caller's own condition: `_update` and `insert` read it
        except Exception as exc:  # classified by its code; the cause is logged, never a secret
            failure = aws_failure(exc, f"booking ledger {operation}", "LedgerUnavailable")
            if isinstance(failure, PermanentFailure):
                logger.error("DynamoDB refused a request the function built: a bug", extra={"error": failure.code})
            raise failure from exc


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def _serialize(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v.value if isinstance(v, State) else v) for k, v in values.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the rest of the code wants int."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value)
    return value


def _deserialize(item: Any) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _plain_item(item: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], _plain(_deserialize(item)))


def _entry(item: dict[str, Any]) -> Entry:
    return Entry.from_item(_plain_item(item))


def scan_entries(
    dynamodb: DynamoDBClient, table: str, states: tuple[State, ...], page_size: int = 500
) -> Iterator[Entry]:
    """Operator reads (`python -m record_task upcoming`, `reconcile`): the bookings in `states`, by a paginated
    Scan with a filter. A Scan reads, and is billed for, every item of the table whatever the filter keeps
    (about one read unit per 8 KB), so the function itself never scans: it reads by key and the due index."""
    ledger = DynamoLedger(table, dynamodb)
    values = {f":s{n}": state for n, state in enumerate(states)}
    kwargs: dict[str, Any] = {
        "FilterExpression": f"#state IN ({', '.join(values)})",
        "ExpressionAttributeNames": {"#state": "state"},
        "ExpressionAttributeValues": _serialize(dict(values)),
        "Limit": page_size,
    }
    while True:
        page = ledger._call("scan", **kwargs)
        yield from (_entry(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
