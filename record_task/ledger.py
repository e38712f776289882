"""The booking ledger: what each booking became, kept in DynamoDB (`BOOKINGS_TABLE`).

Every state change is a conditional write, so concurrent deliveries, sweeps and cancellations
agree on one winner. States:

- `deferred`: beyond the horizon; in the sparse `due-index` (dueShard, dueAt) until the sweep takes it.
- `creating`: claimed by one invocation until `leaseUntil`; holds the planned requests and the tasks
  created so far, so a retry resumes instead of creating again.
- `active`: every task exists. Still in `due-index` while its result has not been published.
- `cancelled`: cancelled (or a tombstone: cancelled before it was ever seen).
- `failed`: refused permanently; holds the failed result.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from record_task.booking import Booking
from record_task.errors import TransientFailure
from record_task.plan import RecordTaskRequest
from record_task.results import Result, TaskRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

State = Literal["deferred", "creating", "active", "cancelled", "failed"]
DUE_INDEX = "due-index"
DUE_SHARD = "due"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Entry:
    """One ledger item, read."""

    pk: str
    state: State
    booking: Booking
    requests: tuple[RecordTaskRequest, ...]
    tasks: tuple[TaskRecord, ...]
    lease_until: int
    lease_owner: str | None
    due_at: int | None
    results: dict[str, dict[str, Any]]  # action -> the result message published for it

    def lease_alive(self, now: int) -> bool:
        return self.state == "creating" and self.lease_until > now

    def result(self, action: str) -> Result | None:
        message = self.results.get(action)
        return Result.from_message(message) if message else None


class Conflict(Exception):
    """A conditional write lost a race: re-read and decide again."""


def ledger_key(source: str, booking_id: str) -> str:
    return f"{source}#{booking_id}"


class BookingLedger:
    """Reads and conditionally writes ledger items; knows DynamoDB, nothing about the API."""

    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self._table = table
        self._db = dynamodb

    def get(self, source: str, booking_id: str) -> Entry | None:
        item = self._call("get_item", Key=_key(ledger_key(source, booking_id)), ConsistentRead=True).get("Item")
        return _entry(item) if item else None

    def defer(self, booking: Booking, due_at: int, result: Result) -> None:
        """Store a booking beyond the horizon; only when the ledger has never seen it."""
        self._put(
            {
                "pk": ledger_key(booking.source, booking.booking_id),
                "state": "deferred",
                "booking": booking.to_dict(),
                "dueShard": DUE_SHARD,
                "dueAt": due_at,
                "requests": [],
                "tasks": [],
                "results": {"create": result.to_message()},
            }
        )

    def tombstone(self, booking: Booking, result: Result) -> None:
        """Remember a cancellation of a booking never seen, so its late create is skipped."""
        self._put(
            {
                "pk": ledger_key(booking.source, booking.booking_id),
                "state": "cancelled",
                "tombstone": True,
                "booking": booking.to_dict(),
                "requests": [],
                "tasks": [],
                "results": {"cancel": result.to_message()},
            }
        )

    def claim_new(
        self, booking: Booking, requests: tuple[RecordTaskRequest, ...], owner: str, lease_until: int
    ) -> None:
        """Claim a booking the ledger has never seen, with the calls planned for it."""
        self._put(
            {
                "pk": ledger_key(booking.source, booking.booking_id),
                "state": "creating",
                "booking": booking.to_dict(),
                "requests": [r.to_dict() for r in requests],
                "tasks": [],
                "leaseOwner": owner,
                "leaseUntil": lease_until,
                "results": {},
            }
        )

    def claim(
        self,
        entry: Entry,
        owner: str,
        now: int,
        lease_until: int,
        requests: tuple[RecordTaskRequest, ...] | None = None,
    ) -> None:
        """Take a deferred booking, or one whose previous claim lapsed; `requests` replaces the plan."""
        values: dict[str, Any] = {
            ":creating": "creating",
            ":deferred": "deferred",
            ":now": now,
            ":owner": owner,
            ":until": lease_until,
        }
        update = "SET #state = :creating, leaseOwner = :owner, leaseUntil = :until"
        if requests is not None:
            update += ", requests = :requests"
            values[":requests"] = [r.to_dict() for r in requests]
        self._update(
            entry.pk,
            update,
            values,
            "#state = :deferred OR (#state = :creating AND leaseUntil <= :now)",
        )

    def add_task(self, pk: str, owner: str, task: TaskRecord) -> None:
        """Record a created task at once, so a crash after this point cannot create it again."""
        self._update(
            pk,
            "SET tasks = list_append(tasks, :task)",
            {":task": [task.to_message()], ":owner": owner},
            "leaseOwner = :owner",
        )

    def release(self, pk: str, owner: str) -> None:
        """Give a claim up after a transient failure: the next attempt may take it at once."""
        self._update(pk, "SET leaseUntil = :zero", {":zero": 0, ":owner": owner}, "leaseOwner = :owner")

    def redefer(self, pk: str, owner: str, due_at: int) -> None:
        """Put a claimed booking back to wait (its plan says it is not due after all)."""
        self._update(
            pk,
            "SET #state = :deferred, dueAt = :due, dueShard = :shard REMOVE leaseOwner, leaseUntil",
            {":deferred": "deferred", ":due": due_at, ":shard": DUE_SHARD, ":owner": owner},
            "leaseOwner = :owner",
        )

    def finish(
        self,
        pk: str,
        owner: str,
        state: State,
        action: str,
        result: Result,
        tasks: tuple[TaskRecord, ...] | None = None,
    ) -> None:
        """End a claim in `state` with the result to publish; it stays due until published."""
        values: dict[str, Any] = {":state": state, ":result": result.to_message(), ":owner": owner}
        update = "SET #state = :state, results.#action = :result"
        if tasks is not None:
            update += ", tasks = :tasks"
            values[":tasks"] = [t.to_message() for t in tasks]
        self._update(
            pk, update + " REMOVE leaseOwner, leaseUntil", values, "leaseOwner = :owner", names={"#action": action}
        )

    def mark_published(self, pk: str) -> None:
        """Drop the item from the due index once its result is out."""
        self._update(pk, "REMOVE dueShard, dueAt", {}, None)

    def cancel(self, entry: Entry, result: Result, tasks: tuple[TaskRecord, ...]) -> None:
        """Mark cancelled, if nobody changed the item since it was read."""
        self._update(
            entry.pk,
            "SET #state = :cancelled, tasks = :tasks, results.#action = :result REMOVE dueShard, dueAt",
            {
                ":cancelled": "cancelled",
                ":tasks": [t.to_message() for t in tasks],
                ":result": result.to_message(),
                ":expected": entry.state,
            },
            "#state = :expected",
            names={"#action": "cancel"},
        )

    def due(self, now: int, page_size: int = 100) -> Iterator[Entry]:
        """Deferred (or unpublished) bookings due by `now`: a query on the sparse index, never a scan."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "dueShard = :shard AND dueAt <= :now",
            "ExpressionAttributeValues": _values({":shard": DUE_SHARD, ":now": now}),
            "Limit": page_size,
        }
        while True:
            page = self._call("query", **kwargs)
            for item in page.get("Items", []):
                yield _entry(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- DynamoDB plumbing -------------------------------------------------------------------------

    def _put(self, item: dict[str, Any]) -> None:
        self._call(
            "put_item",
            Item={k: _serializer.serialize(v) for k, v in item.items()},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def _update(
        self, pk: str, update: str, values: dict[str, Any], condition: str | None, names: dict[str, str] | None = None
    ) -> None:
        all_names = {**({"#state": "state"} if "#state" in update + (condition or "") else {}), **(names or {})}
        kwargs: dict[str, Any] = {"TableName": self._table, "Key": _key(pk), "UpdateExpression": update}
        if condition:
            kwargs["ConditionExpression"] = f"attribute_exists(pk) AND ({condition})"
        if values:
            kwargs["ExpressionAttributeValues"] = _values(values)
        if all_names:
            kwargs["ExpressionAttributeNames"] = all_names
        self._call("update_item", **kwargs)

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("TableName", self._table)
        try:
            return cast(dict[str, Any], getattr(self._db, operation)(**kwargs))
        except self._db.exceptions.ConditionalCheckFailedException:
            raise Conflict(operation) from None
        except Exception as exc:  # throttling, network: worth a retry
            raise TransientFailure(f"booking ledger {operation} failed: {exc}", code="LedgerUnavailable") from exc


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items()}


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
        state=data["state"],
        booking=Booking.from_dict(data["booking"]),
        requests=tuple(RecordTaskRequest.from_dict(r) for r in data.get("requests", [])),
        tasks=tuple(TaskRecord.from_message(t) for t in data.get("tasks", [])),
        lease_until=int(data.get("leaseUntil", 0)),
        lease_owner=data.get("leaseOwner"),
        due_at=data.get("dueAt"),
        results=data.get("results", {}),
    )
