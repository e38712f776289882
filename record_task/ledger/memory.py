"""The booking ledger in memory: the same items and conditions as `DynamoLedger`, for fast tests and the
offline CLI. One lock makes each request atomic, as DynamoDB applies each request."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any

from record_task.ledger import items as stored
from record_task.ledger.items import Entry, Slot, State, Unreadable
from record_task.ledger.memory_streams import Item, MemoryStreamItems, _store_result
from record_task.model.results import Result, TaskRecord
from record_task.model.tasks import RecordTaskRequest


class MemoryLedger(MemoryStreamItems):
    """`record_task.ledger.store.Ledger` on a dict; `requests` counts what DynamoDB would bill."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.requests = 0
        self._lock = threading.Lock()

    def get(self, pk: str) -> Entry | None:
        with self._lock:
            self.requests += 1
            item = self.items.get(pk)
            return Entry.from_item(copy.deepcopy(item)) if item else None

    def insert(self, entry: Entry, now: int, *, due_at: int | None = None, expires: bool = False) -> Entry | None:
        stored.check_move("insert", None, entry.state)
        with self._lock:
            self.requests += 1
            old = self.items.get(entry.pk)
            if old is not None:
                return Entry.from_item(copy.deepcopy(old))
            self.items[entry.pk] = copy.deepcopy(stored.new_item(entry, now, due_at, expires))
            return None

    def take(self, entry: Entry, lease_until: int, now: int, requests: tuple[RecordTaskRequest, ...]) -> bool:
        stored.check_move("take", entry.state, State.CREATING)

        def lapsed(item: Item) -> bool:
            return bool(item["state"] == State.DEFERRED) or (
                item["state"] == State.CREATING
                and item.get("leaseUntil", 0) <= now
                and item.get("leaseUntil", 0) == entry.lease_until
            )

        changes = {
            "state": State.CREATING.value,
            "leaseUntil": lease_until,
            "requests": [r.to_dict() for r in requests],
        }
        return self._update(entry.pk, lapsed, lambda item: item.update(changes))

    def release(self, pk: str, lease_until: int, held: dict[str, Any] | None = None) -> None:
        def give_up(item: Item) -> None:
            item["leaseUntil"] = 0
            if held:
                item["held"] = held

        self._update(pk, lambda item: item.get("leaseUntil") == lease_until, give_up)

    def finish(
        self, pk: str, lease_until: int, state: State, result: Result, tasks: tuple[TaskRecord, ...], now: int
    ) -> bool:
        stored.check_move("finish", State.CREATING, state)
        for task in tasks:
            if task.booking_id is None:  # a neighbour's task points at the neighbour
                self.link(stored.task_key(task.task_id), pk, task.task_id, now)

        def end(item: Item) -> None:
            _store_result(item, state, "create", result, tasks, now)
            item.pop("leaseUntil", None)
            item.pop("held", None)

        mine = lambda item: item["state"] == State.CREATING and item.get("leaseUntil") == lease_until  # noqa: E731
        return self._update(pk, mine, end)

    def cancel(self, entry: Entry, result: Result, tasks: tuple[TaskRecord, ...], now: int) -> bool:
        stored.check_move("cancel", entry.state, State.CANCELLED)
        return self._update(
            entry.pk,
            lambda item: item["state"] == entry.state,
            lambda item: _store_result(item, State.CANCELLED, "cancel", result, tasks, now),
        )

    def take_publish(self, pk: str, slot: Slot, now: int) -> bool:
        if slot.recording:
            grace = stored.CALLBACK_GRACE_SECONDS

            def free(item: Item) -> bool:
                record = item["recordings"].get(slot.name)
                return bool(record) and not record["published"] and record["publishUntil"] <= now

            return self._update(pk, free, lambda item: item["recordings"][slot.name].update(publishUntil=now + grace))
        return self._update(
            pk,
            lambda item: item.get("unpublished") == slot.name and item.get("publishUntil", 0) <= now,
            lambda item: item.update(publishUntil=now + stored.PUBLISH_GRACE_SECONDS),
        )

    def release_publish(self, pk: str, slot: Slot) -> None:
        if slot.recording:
            self._update(pk, lambda item: slot.name in item["recordings"],
                         lambda item: item["recordings"][slot.name].update(publishUntil=0))  # fmt: skip
        else:
            self._update(
                pk, lambda item: item.get("unpublished") == slot.name, lambda item: item.update(publishUntil=0)
            )

    def mark_published(self, pk: str, slot: Slot, *, still_due: bool = False) -> None:
        if slot.recording:
            self._update(pk, lambda item: slot.name in item["recordings"],
                         lambda item: item["recordings"][slot.name].update(published=True))  # fmt: skip
            return
        dropped = ("unpublished", "publishUntil") + (() if still_due else ("dueShard", "dueAt"))
        self._update(
            pk,
            lambda item: item.get("unpublished") == slot.name,
            lambda item: [item.pop(name, None) for name in dropped] and None,
        )

    def due(self, now: int) -> Iterator[Entry | Unreadable]:
        with self._lock:
            self.requests += 1
            found = [copy.deepcopy(i) for i in self.items.values() if i.get("dueShard") and i["dueAt"] <= now]
        yield from (stored.read_item(item) for item in sorted(found, key=lambda item: item["dueAt"]))

    def owner(self, pointer: str) -> tuple[Entry, str] | None:
        with self._lock:
            self.requests += 1
            item = self.items.get(pointer)
        entry = self.get(item["bookingPk"]) if item else None
        return (entry, item["taskId"]) if item and entry else None

    def link(self, pointer: str, booking_pk: str, task_id: str, now: int) -> None:
        with self._lock:
            self.requests += 1
            self.items[pointer] = stored.pointer_item(pointer, booking_pk, task_id, now)

    def add_recording(self, pk: str, name: str, result: Result, status: str | None, now: int) -> Entry | None:
        def keep(item: Item) -> None:
            item["recordings"][name] = stored.recording_record(result, now)
            if status is not None:
                item["lastRecordingStatus"] = status

        if self._update(pk, lambda item: name not in item.setdefault("recordings", {}), keep):
            return None
        return self.get(pk)

    # -- one request --------------------------------------------------------------------------------------

    def _update(self, pk: str, condition: Callable[[Item], bool], change: Callable[[Item], object]) -> bool:
        """Change an existing item if `condition` holds, atomically: False when it did not."""
        with self._lock:
            self.requests += 1
            item = self.items.get(pk)
            if item is None or not condition(item):
                return False
            change(item)
            return True
