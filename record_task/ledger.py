"""The booking ledger: each booking's single source of truth, kept in DynamoDB (`BOOKINGS_TABLE`).

Exactly-once rests on this table alone (docs/contract.md, "Exactly once"): one item per booking,
created by a conditional put whose loser reads the winner's item back from the same request, and
every later change a conditional write on the state machine in `TRANSITIONS`. A result is stored with
the state change that produced it and marked `unpublished` until SNS took it; the sparse `due-index`
holds deferred bookings and results still to be published, so the sweep finishes what a crash left.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from record_task.booking import Booking
from record_task.errors import TransientFailure
from record_task.plan import RecordTaskRequest
from record_task.results import Result, TaskRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DUE_INDEX = "due-index"
DUE_SHARD = "due"
PUBLISH_GRACE_SECONDS = 90  # > the function timeout: the sweep never races an invocation's own publish
VERDICT_TTL_SECONDS = 30 * 86400  # how long a rejection or a task pointer is remembered
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class State(StrEnum):
    DEFERRED = "deferred"  # beyond the horizon; due in the index until the sweep takes it
    CREATING = "creating"  # claimed by one invocation until `leaseUntil`
    ACTIVE = "active"  # every task exists
    CANCELLED = "cancelled"  # cancelled, or a tombstone (cancelled before it was ever seen)
    FAILED = "failed"  # refused permanently
    VERDICT = "verdict"  # not a booking: a remembered rejection or callback verdict, keyed on its body


# The only moves the ledger makes: from (None = no item yet) -> to. Each is one conditional write.
TRANSITIONS: dict[str, tuple[frozenset[State | None], frozenset[State]]] = {
    "insert": (frozenset({None}), frozenset({State.CREATING, State.DEFERRED, State.CANCELLED, State.VERDICT})),
    "take": (frozenset({State.DEFERRED, State.CREATING}), frozenset({State.CREATING})),  # CREATING: lapsed only
    "finish": (frozenset({State.CREATING}), frozenset({State.ACTIVE, State.FAILED})),  # by the claim's owner
    "cancel": (frozenset({State.DEFERRED, State.ACTIVE, State.FAILED}), frozenset({State.CANCELLED})),
}


@dataclass(frozen=True)
class Entry:
    """One ledger item, read."""

    pk: str
    state: State
    booking: Booking | None
    requests: tuple[RecordTaskRequest, ...] = ()
    tasks: tuple[TaskRecord, ...] = ()
    lease_until: int = 0
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # action -> result message
    unpublished: str | None = None  # the action whose result SNS has not taken yet
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)  # callback key -> {result, published}

    def lease_alive(self, now: int) -> bool:
        return self.state == State.CREATING and self.lease_until > now

    def result(self, action: str) -> Result | None:
        message = self.results.get(action)
        return Result.from_message(message) if message else None


def booking_key(source: str, booking_id: str) -> str:
    return f"{source}#{booking_id}"


def task_key(task_id: str) -> str:
    return f"task#{task_id}"


class BookingLedger:
    """Reads and conditionally writes ledger items; knows DynamoDB, nothing about the API."""

    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self._table = table
        self._db = dynamodb

    def get(self, pk: str) -> Entry | None:
        item = self._call("get_item", Key=_key(pk), ConsistentRead=True).get("Item")
        return _entry(item) if item else None

    def insert(self, entry: Entry, now: int, *, due_at: int | None = None, expires: bool = False) -> Entry | None:
        """Write a new item; None when written, else the item that already held the key (same request)."""
        item: dict[str, Any] = {
            "pk": entry.pk,
            "state": entry.state.value,
            "requests": [r.to_dict() for r in entry.requests],
            "tasks": [],
            "leaseUntil": entry.lease_until,
            "results": entry.results,
            "recordings": {},
        }
        if entry.booking is not None:
            item["booking"] = entry.booking.to_dict()
        if entry.unpublished:
            item["unpublished"] = entry.unpublished
            due_at = now + PUBLISH_GRACE_SECONDS if due_at is None else due_at
        if due_at is not None:
            item.update(dueShard=DUE_SHARD, dueAt=due_at)
        if expires:
            item["expiresAt"] = now + VERDICT_TTL_SECONDS
        try:
            self._call(
                "put_item",
                Item={k: _serializer.serialize(v) for k, v in item.items()},
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            return _entry(cast(dict[str, Any], old)) if old else self.get(entry.pk)
        return None

    def take(self, entry: Entry, lease_until: int, now: int, requests: tuple[RecordTaskRequest, ...]) -> bool:
        """Claim a due deferred booking, or one whose previous claim lapsed, with the calls to make.

        A deferred booking stays in the due index until `finish`, so a sweep retries a failed attempt."""
        return self._update(
            entry.pk,
            "SET #state = :creating, leaseUntil = :until, requests = :requests",
            {
                ":creating": State.CREATING,
                ":deferred": State.DEFERRED,
                ":now": now,
                ":until": lease_until,
                ":requests": [r.to_dict() for r in requests],
                ":seen": entry.lease_until,
            },
            "#state = :deferred OR (#state = :creating AND leaseUntil <= :now AND leaseUntil = :seen)",
        )

    def release(self, pk: str, lease_until: int) -> None:
        """Give a claim up after a transient failure: the next attempt may take it at once."""
        self._update(pk, "SET leaseUntil = :zero", {":zero": 0, ":mine": lease_until}, "leaseUntil = :mine")

    def finish(
        self, pk: str, lease_until: int, state: State, result: Result, tasks: tuple[TaskRecord, ...], now: int
    ) -> bool:
        """End a claim with its result, unpublished; with a pointer per task for recording callbacks."""
        update = {
            "TableName": self._table,
            "Key": _key(pk),
            "UpdateExpression": "SET #state = :state, tasks = :tasks, results.#action = :result, unpublished = :action,"
            " dueShard = :shard, dueAt = :due REMOVE leaseUntil",
            "ConditionExpression": "attribute_exists(pk) AND #state = :creating AND leaseUntil = :mine",
            "ExpressionAttributeNames": {"#state": "state", "#action": "create"},
            "ExpressionAttributeValues": _values(
                {
                    ":state": state,
                    ":tasks": [t.to_message() for t in tasks],
                    ":result": result.to_message(),
                    ":action": "create",
                    ":shard": DUE_SHARD,
                    ":due": now + PUBLISH_GRACE_SECONDS,
                    ":creating": State.CREATING,
                    ":mine": lease_until,
                }
            ),
        }
        if not tasks:
            return self._conditional("update_item", **update)
        pointers = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _values(
                        {
                            "pk": task_key(t.task_id),
                            "bookingPk": pk,
                            "expiresAt": max(t.end_time, now) + VERDICT_TTL_SECONDS,
                        }
                    ),
                }
            }
            for t in tasks
        ]
        return self._conditional("transact_write_items", TransactItems=[{"Update": update}, *pointers])

    def cancel(self, entry: Entry, result: Result, tasks: tuple[TaskRecord, ...], now: int) -> bool:
        """Mark cancelled with its result, if nobody changed the item since it was read."""
        return self._update(
            entry.pk,
            "SET #state = :cancelled, tasks = :tasks, results.#action = :result, unpublished = :action,"
            " dueShard = :shard, dueAt = :due",
            {
                ":cancelled": State.CANCELLED,
                ":tasks": [t.to_message() for t in tasks],
                ":result": result.to_message(),
                ":action": "cancel",
                ":shard": DUE_SHARD,
                ":due": now + PUBLISH_GRACE_SECONDS,
                ":expected": entry.state,
            },
            "#state = :expected",
            names={"#action": "cancel"},
        )

    def mark_published(self, entry_pk: str, action: str, *, still_due: bool = False) -> None:
        """SNS took the result of `action`: leave the due index unless the booking still waits there."""
        update = "REMOVE unpublished" + ("" if still_due else ", dueShard, dueAt")
        # A lost condition means another result replaced it, or another invocation marked it: nothing left.
        self._update(entry_pk, update, {":action": action}, "unpublished = :action")

    def booking_for_task(self, task_id: str) -> Entry | None:
        """The booking that owns a task: a key lookup on the task's pointer, then on the booking."""
        pointer = self._call("get_item", Key=_key(task_key(task_id)), ConsistentRead=True).get("Item")
        return self.get(pointer["bookingPk"]["S"]) if pointer else None

    def add_recording(self, pk: str, key: str, result: Result) -> dict[str, Any] | None:
        """Keep a recording callback's result once per key; the stored one when it was kept before."""
        if self._update(
            pk,
            "SET recordings.#key = :record",
            {":record": {"result": result.to_message(), "published": False}},
            "attribute_not_exists(recordings.#key)",
            names={"#key": key},
        ):
            return None
        entry = self.get(pk)
        return entry.recordings.get(key) if entry else None

    def mark_recording_published(self, pk: str, key: str) -> None:
        self._update(pk, "SET recordings.#key.published = :yes", {":yes": True}, None, names={"#key": key})

    def due(self, now: int, page_size: int = 100) -> Iterator[Entry]:
        """Bookings due by `now` (deferred, or a result unpublished): the sparse index, never a scan."""
        kwargs: dict[str, Any] = {
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "dueShard = :shard AND dueAt <= :now",
            "ExpressionAttributeValues": _values({":shard": DUE_SHARD, ":now": now}),
            "Limit": page_size,
        }
        while True:
            page = self._call("query", **kwargs)
            yield from (_entry(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- DynamoDB plumbing -------------------------------------------------------------------------

    def _update(
        self, pk: str, update: str, values: dict[str, Any], condition: str | None, names: dict[str, str] | None = None
    ) -> bool:
        all_names = {**({"#state": "state"} if "#state" in update + (condition or "") else {}), **(names or {})}
        kwargs: dict[str, Any] = {"Key": _key(pk), "UpdateExpression": update}
        kwargs["ConditionExpression"] = "attribute_exists(pk)" + (f" AND ({condition})" if condition else "")
        used = {k: v for k, v in values.items() if k in update + kwargs["ConditionExpression"]}
        if used:
            kwargs["ExpressionAttributeValues"] = _values(used)
        if all_names:
            kwargs["ExpressionAttributeNames"] = all_names
        return self._conditional("update_item", **kwargs)

    def _conditional(self, operation: str, **kwargs: Any) -> bool:
        """A conditional write: True when it was made, False when its condition did not hold."""
        try:
            self._call(operation, **kwargs)
        except (
            self._db.exceptions.ConditionalCheckFailedException,
            self._db.exceptions.TransactionCanceledException,
        ):
            return False
        return True

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        if operation != "transact_write_items":
            kwargs.setdefault("TableName", self._table)
        try:
            return cast(dict[str, Any], getattr(self._db, operation)(**kwargs))
        except (
            self._db.exceptions.ConditionalCheckFailedException,
            self._db.exceptions.TransactionCanceledException,
        ):
            raise  # the caller's condition: `_conditional` and `insert` read it
        except Exception as exc:  # throttling, network: worth a retry; the cause is logged, never a secret
            raise TransientFailure(
                f"booking ledger {operation} failed: {type(exc).__name__}: {exc}", code="LedgerUnavailable"
            ) from exc


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v.value if isinstance(v, State) else v) for k, v in values.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the rest of the code wants int."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "Decimal":
        return int(value)
    return value


def _entry(item: dict[str, Any]) -> Entry:
    data = _plain({k: _deserializer.deserialize(v) for k, v in item.items()})
    return Entry(
        pk=data["pk"],
        state=State(data["state"]),
        booking=Booking.from_dict(data["booking"]) if "booking" in data else None,
        requests=tuple(RecordTaskRequest.from_dict(r) for r in data.get("requests", [])),
        tasks=tuple(TaskRecord.from_message(t) for t in data.get("tasks", [])),
        lease_until=int(data.get("leaseUntil", 0)),
        results=data.get("results", {}),
        unpublished=data.get("unpublished"),
        recordings=data.get("recordings", {}),
    )
