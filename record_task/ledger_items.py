"""What the booking ledger stores: the states a booking moves through, its item read back, and keys.

Kept apart from `ledger.py` (the DynamoDB writes) so a reader sees the state machine in one screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from record_task.booking import Booking
from record_task.plan import RecordTaskRequest
from record_task.results import Result, TaskRecord

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class State(StrEnum):
    DEFERRED = "deferred"  # beyond the horizon; in the due index until the sweep takes it
    CREATING = "creating"  # claimed by one invocation until `leaseUntil`
    ACTIVE = "active"  # every task exists
    CANCELLED = "cancelled"  # cancelled, or a tombstone (cancelled before it was ever seen)
    FAILED = "failed"  # refused permanently (or rejected when the sweep found its window gone)
    VERDICT = "verdict"  # not a booking: a remembered rejection or callback verdict, keyed on its content


# Every move the ledger makes, from (None: no item yet) to; each is one conditional write on the from-state.
TRANSITIONS: dict[str, tuple[frozenset[State | None], frozenset[State]]] = {
    "insert": (frozenset({None}), frozenset({State.CREATING, State.DEFERRED, State.CANCELLED, State.VERDICT})),
    "take": (frozenset({State.DEFERRED, State.CREATING}), frozenset({State.CREATING})),  # CREATING: lapsed only
    "finish": (frozenset({State.CREATING}), frozenset({State.ACTIVE, State.FAILED})),  # by the claim's holder
    "cancel": (frozenset({State.DEFERRED, State.ACTIVE, State.FAILED}), frozenset({State.CANCELLED})),
}


def check_move(move: str, source: State | None, target: State) -> None:
    """A move outside `TRANSITIONS` is a programming error, caught before it reaches the table."""
    sources, targets = TRANSITIONS[move]
    if source not in sources or target not in targets:
        raise ValueError(f"the ledger never moves {source} -> {target} by {move}")


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


def session_key(session_id: str) -> str:
    return f"session#{session_id}"


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def serialize(values: dict[str, Any]) -> dict[str, Any]:
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


def entry_from(item: dict[str, Any]) -> Entry:
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
