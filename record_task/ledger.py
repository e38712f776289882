"""The booking ledger: each booking's single source of truth, kept in DynamoDB (`BOOKINGS_TABLE`).

Exactly-once rests on this table alone (docs/contract.md, "Exactly once"): one item per booking, created
by a conditional put whose loser reads the winner's item from the same request, and every later change a
conditional write on a move of `ledger_items.TRANSITIONS`. A result is stored with the change that made
it and stays `unpublished` (and in the sparse `due-index`) until SNS took it, so the sweep finishes what
a crash left.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from record_task.errors import TransientFailure
from record_task.ledger_items import (
    Entry,
    State,
    booking_key,
    check_move,
    entry_from,
    key,
    serialize,
    session_key,
    task_key,
)
from record_task.plan import RecordTaskRequest
from record_task.results import Result, TaskRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["BookingLedger", "Entry", "State", "booking_key", "session_key", "task_key"]

DUE_INDEX = "due-index"
DUE_SHARD = "due"
PUBLISH_GRACE_SECONDS = 90  # > the function timeout: the sweep never races an invocation's own publish
# > the webhook's 29 s timeout, < the 60 s between Tencent's retries: a retry finds a crashed publish free
CALLBACK_GRACE_SECONDS = 30
POINTER_TTL_SECONDS = 30 * 86400  # how long a verdict, a task or a session pointer is remembered
_DUE = "dueShard = :shard, dueAt = :due, publishUntil = :due"  # the writer publishes; else the sweep, after :due


class _Table:
    """Conditional writes on one DynamoDB table: a lost condition is a False, any other error transient."""

    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self._table = table
        self._db = dynamodb

    def _request(
        self, pk: str, update: str, values: dict[str, Any], condition: str | None, names: dict[str, str] | None
    ) -> dict[str, Any]:
        condition = "attribute_exists(pk)" + (f" AND ({condition})" if condition else "")
        names = {**({"#state": "state"} if "#state" in update + condition else {}), **(names or {})}
        request: dict[str, Any] = {"TableName": self._table, "Key": key(pk), "UpdateExpression": update}
        request["ConditionExpression"] = condition
        used = {k: v for k, v in values.items() if k in update + condition}
        if used:
            request["ExpressionAttributeValues"] = serialize(used)
        if names:
            request["ExpressionAttributeNames"] = names
        return request

    def _update(
        self, pk: str, update: str, values: dict[str, Any], condition: str | None, names: dict[str, str] | None = None
    ) -> bool:
        return self._conditional("update_item", **self._request(pk, update, values, condition, names))

    def _conditional(self, operation: str, **kwargs: Any) -> bool:
        """A conditional write: True when it was made, False when its condition did not hold."""
        try:
            self._call(operation, **kwargs)
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("TableName", self._table)
        try:
            return cast(dict[str, Any], getattr(self._db, operation)(**kwargs))
        except self._db.exceptions.ConditionalCheckFailedException:
            raise  # the caller's own condition: `_conditional` and `insert` read it
        except Exception as exc:  # throttling, network: worth a retry; the cause is logged, never a secret
            raise TransientFailure(
                f"booking ledger {operation} failed: {type(exc).__name__}: {exc}", code="LedgerUnavailable"
            ) from exc


class BookingLedger(_Table):
    """Reads and conditionally writes ledger items; knows DynamoDB, nothing about the API."""

    def get(self, pk: str) -> Entry | None:
        item = self._call("get_item", Key=key(pk), ConsistentRead=True).get("Item")
        return entry_from(item) if item else None

    def insert(self, entry: Entry, now: int, *, due_at: int | None = None, expires: bool = False) -> Entry | None:
        """Write a new item; None when written, else the item that already held the key (same request)."""
        check_move("insert", None, entry.state)
        item: dict[str, Any] = {"pk": entry.pk, "state": entry.state, "requests": [r.to_dict() for r in entry.requests],
                                "tasks": [], "leaseUntil": entry.lease_until, "results": entry.results,
                                "recordings": {}}  # fmt: skip
        if entry.booking is not None:
            item["booking"] = entry.booking.to_dict()
        if entry.unpublished:  # the inserting invocation publishes it: others wait out the grace period
            item.update(unpublished=entry.unpublished, publishUntil=now + PUBLISH_GRACE_SECONDS)
            due_at = now + PUBLISH_GRACE_SECONDS if due_at is None else due_at
        if due_at is not None:
            item.update(dueShard=DUE_SHARD, dueAt=due_at)
        if expires:
            item["expiresAt"] = now + POINTER_TTL_SECONDS
        try:
            self._call("put_item", Item=serialize(item), ConditionExpression="attribute_not_exists(pk)",
                       ReturnValuesOnConditionCheckFailure="ALL_OLD")  # fmt: skip
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            return entry_from(cast(dict[str, Any], old)) if old else self.get(entry.pk)
        return None

    def take(self, entry: Entry, lease_until: int, now: int, requests: tuple[RecordTaskRequest, ...]) -> bool:
        """Claim a due deferred booking, or one whose claim lapsed, with the calls to make. A deferred
        booking stays in the due index until `finish`, so a later sweep retries a failed attempt."""
        check_move("take", entry.state, State.CREATING)
        values = {":creating": State.CREATING, ":deferred": State.DEFERRED, ":now": now, ":until": lease_until,
                  ":requests": [r.to_dict() for r in requests], ":seen": entry.lease_until}  # fmt: skip
        condition = "#state = :deferred OR (#state = :creating AND leaseUntil <= :now AND leaseUntil = :seen)"
        return self._update(
            entry.pk, "SET #state = :creating, leaseUntil = :until, requests = :requests", values, condition
        )

    def release(self, pk: str, lease_until: int) -> None:
        """Give a claim up after a transient failure: the next attempt may take it at once."""
        self._update(pk, "SET leaseUntil = :zero", {":zero": 0, ":mine": lease_until}, "leaseUntil = :mine")

    def finish(
        self, pk: str, lease_until: int, state: State, result: Result, tasks: tuple[TaskRecord, ...], now: int
    ) -> bool:
        """End a claim with its result, unpublished. Each task's pointer (for recording callbacks) is written
        first: a task belongs to its booking whichever attempt ends the claim, so no transaction is needed."""
        check_move("finish", State.CREATING, state)
        for task in tasks:
            self.link(task_key(task.task_id), pk, task.task_id, now)
        values = {":state": state, ":tasks": [t.to_message() for t in tasks], ":result": result.to_message(),
                  ":action": "create", ":shard": DUE_SHARD, ":due": now + PUBLISH_GRACE_SECONDS,
                  ":creating": State.CREATING, ":mine": lease_until}  # fmt: skip
        change = "SET #state = :state, tasks = :tasks, results.#action = :result, unpublished = :action, " + _DUE
        condition = "#state = :creating AND leaseUntil = :mine"
        return self._update(pk, change + " REMOVE leaseUntil", values, condition, {"#action": "create"})

    def cancel(self, entry: Entry, result: Result, tasks: tuple[TaskRecord, ...], now: int) -> bool:
        """Mark cancelled with its result, unpublished, if nobody changed the item since it was read."""
        check_move("cancel", entry.state, State.CANCELLED)
        values = {":cancelled": State.CANCELLED, ":tasks": [t.to_message() for t in tasks],
                  ":result": result.to_message(), ":action": "cancel", ":shard": DUE_SHARD,
                  ":due": now + PUBLISH_GRACE_SECONDS, ":expected": entry.state}  # fmt: skip
        change = "SET #state = :cancelled, tasks = :tasks, results.#action = :result, unpublished = :action, " + _DUE
        return self._update(entry.pk, change, values, "#state = :expected", {"#action": "cancel"})

    def take_publish(self, pk: str, action: str, now: int) -> bool:
        """The right to publish a stored result nobody is publishing: only one of concurrent copies wins."""
        values = {":action": action, ":now": now, ":until": now + PUBLISH_GRACE_SECONDS}
        return self._update(pk, "SET publishUntil = :until", values, "unpublished = :action AND publishUntil <= :now")

    def release_publish(self, pk: str, action: str) -> None:
        """A publish failed: the next delivery (or the sweep) may take it at once."""
        self._update(pk, "SET publishUntil = :zero", {":zero": 0, ":action": action}, "unpublished = :action")

    def mark_published(self, pk: str, action: str, *, still_due: bool = False) -> None:
        """SNS took the result of `action`: leave the due index unless the booking still waits there.
        A lost condition means another result replaced it, or another invocation marked it."""
        update = "REMOVE unpublished, publishUntil" + ("" if still_due else ", dueShard, dueAt")
        self._update(pk, update, {":action": action}, "unpublished = :action")

    def due(self, now: int, page_size: int = 100) -> Iterator[Entry]:
        """Bookings due by `now` (deferred, or a result unpublished): the sparse index, never a scan."""
        kwargs: dict[str, Any] = {
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "dueShard = :shard AND dueAt <= :now",
            "ExpressionAttributeValues": serialize({":shard": DUE_SHARD, ":now": now}),
            "Limit": page_size,
        }
        while True:
            page = self._call("query", **kwargs)
            yield from (entry_from(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- recording callbacks ---------------------------------------------------------------------------

    def owner(self, pointer: str) -> tuple[Entry, str] | None:
        """The booking a task or session pointer names, and the task id it stands for: key lookups only."""
        item = self._call("get_item", Key=key(pointer), ConsistentRead=True).get("Item")
        entry = self.get(item["bookingPk"]["S"]) if item else None
        return (entry, item["taskId"]["S"]) if item and entry else None

    def link(self, pointer: str, booking_pk: str, task_id: str, now: int) -> None:
        """Point a task or session id at its booking's task (the same link written again is harmless)."""
        self._call("put_item", Item=_pointer(pointer, booking_pk, task_id, now))

    def add_recording(self, pk: str, name: str, result: Result, status: str | None, now: int) -> dict[str, Any] | None:
        """Keep a callback's result once per name (and the last recording status); the earlier one if kept."""
        record = {"result": result.to_message(), "published": False, "publishUntil": now + CALLBACK_GRACE_SECONDS}
        values: dict[str, Any] = {":record": record}
        update = "SET recordings.#name = :record"
        if status is not None:
            update, values[":status"] = update + ", lastRecordingStatus = :status", status
        if self._update(pk, update, values, "attribute_not_exists(recordings.#name)", {"#name": name}):
            return None
        entry = self.get(pk)
        return entry.recordings.get(name) if entry else None

    def take_recording_publish(self, pk: str, name: str, now: int) -> bool:
        """As `take_publish`, for a recording callback's result."""
        values = {":no": False, ":now": now, ":until": now + CALLBACK_GRACE_SECONDS}
        condition = "recordings.#name.published = :no AND recordings.#name.publishUntil <= :now"
        return self._update(pk, "SET recordings.#name.publishUntil = :until", values, condition, {"#name": name})

    def release_recording_publish(self, pk: str, name: str) -> None:
        self._update(pk, "SET recordings.#name.publishUntil = :zero", {":zero": 0}, None, {"#name": name})

    def mark_recording_published(self, pk: str, name: str) -> None:
        self._update(pk, "SET recordings.#name.published = :yes", {":yes": True}, None, {"#name": name})


def _pointer(pointer: str, booking_pk: str, task_id: str, now: int) -> dict[str, Any]:
    return serialize(
        {"pk": pointer, "bookingPk": booking_pk, "taskId": task_id, "expiresAt": now + POINTER_TTL_SECONDS}
    )
