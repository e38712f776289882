"""The booking ledger's interface: every read and conditional write the booking logic makes.

Two implementations keep the same items (`record_task.ledger.items`): `DynamoLedger` for Lambda and
`MemoryLedger` for fast tests; `tests/contract/test_ledger_contract.py` runs one set of tests on both.
Each write is conditional: True (or None for `insert`) when it was made, False when another writer got
there first. Failures raise a `RecordTaskError` that says whether a retry may help.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from record_task.ledger.items import Entry, Slot, State, Unreadable
from record_task.ledger.streams import StreamState
from record_task.model.results import Result, TaskRecord
from record_task.model.tasks import RecordTaskRequest


class Ledger(Protocol):
    def get(self, pk: str) -> Entry | None:
        """The item under `pk`, read consistently."""

    def insert(self, entry: Entry, now: int, *, due_at: int | None = None, expires: bool = False) -> Entry | None:
        """Write a new item; None when written, else the item that already held the key."""

    def take(self, entry: Entry, lease_until: int, now: int, requests: tuple[RecordTaskRequest, ...]) -> bool:
        """Claim a due deferred booking, or one whose claim lapsed (as read in `entry`), with its calls."""

    def release(self, pk: str, lease_until: int, held: dict[str, Any] | None = None) -> None:
        """Give a claim up after a failure that may pass, noting an error the operator must fix."""

    def finish(
        self, pk: str, lease_until: int, state: State, result: Result, tasks: tuple[TaskRecord, ...], now: int
    ) -> bool:
        """End the claim `lease_until` with its result (unpublished) and tasks, each task's pointer first."""

    def cancel(self, entry: Entry, result: Result, tasks: tuple[TaskRecord, ...], now: int) -> bool:
        """Mark cancelled with its result (unpublished), if the item is still in `entry.state`."""

    def take_publish(self, pk: str, slot: Slot, now: int) -> bool:
        """The right to publish a stored result nobody is publishing: one of concurrent copies wins."""

    def release_publish(self, pk: str, slot: Slot) -> None:
        """A publish failed: the next delivery (or the sweep) may take it at once."""

    def mark_published(self, pk: str, slot: Slot, *, still_due: bool = False) -> None:
        """SNS took the result: out of the due index unless the booking still waits there."""

    def due(self, now: int) -> Iterator[Entry | Unreadable]:
        """Bookings due by `now` (deferred, or a result unpublished), earliest first."""

    def owner(self, pointer: str) -> tuple[Entry, str] | None:
        """The booking a task or session pointer names, and the task id it stands for."""

    def link(self, pointer: str, booking_pk: str, task_id: str, now: int) -> None:
        """Point a task or session id at its booking's task (writing the same link again is harmless)."""

    def add_recording(self, pk: str, name: str, result: Result, status: str | None, now: int) -> Entry | None:
        """Keep a callback's result once per name (and the last recording status); None when kept now,
        else the booking as it is (holding the earlier one under `name`)."""

    def get_stream(self, pk: str) -> StreamState | None:
        """A stream item, read consistently (docs/contract.md, "Streams")."""

    def write_stream(self, state: StreamState, expected_version: int) -> StreamState | None:
        """Write the whole stream item if it is still at `expected_version` (0: absent); None when written,
        else the item as it is, from the same request (version 0 when there is none)."""

    def update_tasks(self, pk: str, result: Result, tasks: tuple[TaskRecord, ...], now: int) -> bool:
        """A neighbour changed what records an active booking: its tasks and `updated` result (unpublished)."""
