"""What the booking ledger stores: the states a booking moves through, its item read back, and keys.

Pure (no AWS): both ledgers, DynamoDB and in-memory, build and read the same items from here, so a
reader sees the state machine in one screen and the two cannot store different things.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from record_task.model.booking import Booking
from record_task.model.results import Result, TaskRecord
from record_task.model.tasks import RecordTaskRequest

DUE_SHARD = "due"
PUBLISH_GRACE_SECONDS = 90  # > the function timeout: the sweep never races an invocation's own publish
# > the webhook's 29 s timeout, < the 60 s between Tencent's retries: a retry finds a crashed publish free
CALLBACK_GRACE_SECONDS = 30
POINTER_TTL_SECONDS = 30 * 86400  # how long a verdict, a task or a session pointer is remembered


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
class Slot:
    """Where a stored result waits to be published: a booking action's (`create`, `cancel`, `verdict`),
    in the due index until sent, or one recording callback's, kept under the booking's `recordings`."""

    name: str
    recording: bool = False


CREATE, CANCEL, VERDICT = Slot("create"), Slot("cancel"), Slot("verdict")  # a booking action's result


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
    held: dict[str, Any] | None = None  # deferred: the last error the operator must fix, if any

    def lease_alive(self, now: int) -> bool:
        return self.state == State.CREATING and self.lease_until > now

    def result(self, action: str) -> Result | None:
        message = self.results.get(action)
        return Result.from_message(message) if message else None

    def recorded(self, name: str) -> tuple[Result, bool] | None:
        """A kept callback's result and whether it was published."""
        record = self.recordings.get(name)
        return (Result.from_message(record["result"]), bool(record.get("published"))) if record else None

    @classmethod
    def from_item(cls, data: dict[str, Any]) -> Entry:
        """An item as plain values (numbers as int); fields a newer version added are ignored."""
        return cls(
            pk=data["pk"],
            state=State(data["state"]),
            booking=Booking.from_dict(data["booking"]) if "booking" in data else None,
            requests=tuple(RecordTaskRequest.from_dict(r) for r in data.get("requests", [])),
            tasks=tuple(TaskRecord.from_message(t) for t in data.get("tasks", [])),
            lease_until=int(data.get("leaseUntil", 0)),
            results=data.get("results", {}),
            unpublished=data.get("unpublished"),
            recordings=data.get("recordings", {}),
            held=data.get("held"),
        )


@dataclass(frozen=True)
class Unreadable:
    """A due item no field reader of this version understands (written by another version, or damaged)."""

    pk: str
    error: str


def read_item(data: dict[str, Any]) -> Entry | Unreadable:
    """An item as an entry, or what made it unreadable: one bad item never stops a sweep of the others."""
    try:
        return Entry.from_item(data)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        return Unreadable(str(data.get("pk", "?")), f"{type(exc).__name__}: {exc}")


def new_item(entry: Entry, now: int, due_at: int | None, expires: bool) -> dict[str, Any]:
    """The item an insert writes: the inserting invocation publishes its result, others wait the grace."""
    item: dict[str, Any] = {"pk": entry.pk, "state": entry.state.value,
                            "requests": [r.to_dict() for r in entry.requests], "tasks": [],
                            "leaseUntil": entry.lease_until, "results": entry.results, "recordings": {}}  # fmt: skip
    if entry.booking is not None:
        item["booking"] = entry.booking.to_dict()
    if entry.unpublished:
        item.update(unpublished=entry.unpublished, publishUntil=now + PUBLISH_GRACE_SECONDS)
        due_at = now + PUBLISH_GRACE_SECONDS if due_at is None else due_at
    if due_at is not None:
        item.update(dueShard=DUE_SHARD, dueAt=due_at)
    if expires:
        item["expiresAt"] = now + POINTER_TTL_SECONDS
    return item


def pointer_item(pointer: str, booking_pk: str, task_id: str, now: int) -> dict[str, Any]:
    """A task or session id pointing at its booking's task (for recording callbacks)."""
    return {"pk": pointer, "bookingPk": booking_pk, "taskId": task_id, "expiresAt": now + POINTER_TTL_SECONDS}


def recording_record(result: Result, now: int) -> dict[str, Any]:
    return {"result": result.to_message(), "published": False, "publishUntil": now + CALLBACK_GRACE_SECONDS}


def booking_key(source: str, booking_id: str) -> str:
    return f"{source}#{booking_id}"


def task_key(task_id: str) -> str:
    return f"task#{task_id}"


def session_key(session_id: str) -> str:
    return f"session#{session_id}"
