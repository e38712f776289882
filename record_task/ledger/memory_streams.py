"""The stream items and neighbour updates of `MemoryLedger`, kept apart so each class stays one screen."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from record_task.ledger.items import DUE_SHARD, PUBLISH_GRACE_SECONDS, State
from record_task.ledger.streams import StreamState
from record_task.model.results import Result, TaskRecord

Item = dict[str, Any]


class MemoryStreamItems:
    items: dict[str, Item]
    requests: int
    _lock: threading.Lock

    def _update(self, pk: str, condition: Callable[[Item], bool], change: Callable[[Item], object]) -> bool:
        raise NotImplementedError

    def get_stream(self, pk: str) -> StreamState | None:
        with self._lock:
            self.requests += 1
            item = self.items.get(pk)
            return StreamState.from_item(copy.deepcopy(item)) if item else None

    def write_stream(self, state: StreamState, expected_version: int) -> StreamState | None:
        with self._lock:
            self.requests += 1
            old = self.items.get(state.pk)
            if (old["version"] if old else 0) != expected_version:
                return StreamState.from_item(copy.deepcopy(old)) if old else StreamState(state.pk)
            self.items[state.pk] = copy.deepcopy(state.to_item())
            return None

    def update_tasks(self, pk: str, result: Result, tasks: tuple[TaskRecord, ...], now: int) -> bool:
        return self._update(
            pk,
            lambda item: item["state"] == State.ACTIVE,
            lambda item: _store_result(item, State.ACTIVE, "update", result, tasks, now),
        )


def _store_result(
    item: Item, state: State, action: str, result: Result, tasks: tuple[TaskRecord, ...], now: int
) -> None:
    due = now + PUBLISH_GRACE_SECONDS
    item.update(state=state.value, tasks=[t.to_message() for t in tasks], unpublished=action,
                dueShard=DUE_SHARD, dueAt=due, publishUntil=due)  # fmt: skip
    item.setdefault("results", {})[action] = result.to_message()
