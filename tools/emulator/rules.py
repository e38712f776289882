"""The four record-task actions as the published API documents them, applied server-side to the emulator's
task ledger, so a validation bug in the client shows up as an API error, not as a task the real API would
refuse; and the CreateRecordTask limit of 20 calls per rolling second.

Tasks with overlapping windows on one stream are all accepted, as the real API accepts them (what the
platform then records of them is `tools/emulator/streams.py`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from tools.emulator.protocol import ApiError, integer, required_integer, text

DAY = 86400
MAX_TASK_SECONDS = DAY
MAX_START_AHEAD = 6 * DAY
MAX_QUERY_SPAN = 7 * DAY
QUERY_HISTORY = 90 * DAY
CREATE_LIMIT_PER_SECOND = 20
DEFAULT_PAGE_SIZE = 10
STREAM_FIELDS = ("StreamName", "DomainName", "AppName")
LISTED_FIELDS = ("TaskId", "DomainName", "AppName", "StreamName", "StartTime", "EndTime", "TemplateId", "Stopped")

# Task states in the ledger. "deleted_running": DeleteRecordTask while the window was open. The docs say
# deleting "does not affect running tasks", so that recording goes on to its EndTime; it only disappears
# from DescribeRecordTask and can no longer be stopped.
CREATED, STOPPED, DELETED, DELETED_RUNNING = "created", "stopped", "deleted", "deleted_running"
GONE = frozenset({DELETED, DELETED_RUNNING})


class CreateLimit:
    """20 CreateRecordTask calls per rolling second, on `monotonic` (real time unless a test gives its own
    clock), whatever the rules' clock says."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._taken: deque[float] = deque()

    def take(self) -> None:
        with self._lock:
            now = self._monotonic()
            while self._taken and self._taken[0] <= now - 1.0:
                self._taken.popleft()
            if len(self._taken) >= CREATE_LIMIT_PER_SECOND:
                raise ApiError("RequestLimitExceeded", "CreateRecordTask allows 20 requests per second")
            self._taken.append(now)

    def hold(self, seconds: float) -> None:
        """Spend the window so that every create is refused for the next `seconds`, as if a burst from
        elsewhere had: throttling a test can count on, however slow the host."""
        with self._lock:
            until = self._monotonic() + seconds - 1.0  # an entry frees its slot one second after it was taken
            self._taken = deque(sorted([*self._taken, *[until] * CREATE_LIMIT_PER_SECOND]))

    def reset(self) -> None:
        with self._lock:
            self._taken.clear()


class RecordTasks:
    """Every task ever created and the rules of the four actions over them; safe to call from any thread."""

    def __init__(self, now: Callable[[], float], limit: CreateLimit) -> None:
        self._now = now
        self.limit = limit
        self._lock = threading.Lock()
        self._tasks: dict[str, dict[str, Any]] = {}
        self._scrolls: dict[str, tuple[tuple[Any, ...], int]] = {}
        self.page_size = DEFAULT_PAGE_SIZE

    def snapshot(self) -> list[dict[str, Any]]:
        """Copies of every task, in creation order, with its Status."""
        with self._lock:
            return [dict(task) for task in self._tasks.values()]

    def reset(self) -> None:
        with self._lock:
            self._tasks.clear()
            self._scrolls.clear()
            self.page_size = DEFAULT_PAGE_SIZE
        self.limit.reset()

    def run(self, action: str, region: str, p: dict[str, Any]) -> dict[str, Any]:
        actions: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            "CreateRecordTask": self.create,
            "DeleteRecordTask": self.delete,
            "StopRecordTask": self.stop,
            "DescribeRecordTask": self.describe,
        }
        return actions[action](region, p)

    def create(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        self.limit.take()
        now = self._now()
        names = {name: text(p, name) for name in STREAM_FIELDS}
        end = required_integer(p, "EndTime")
        start = integer(p, "StartTime")
        start = int(now) if start is None else start
        stream_type = integer(p, "StreamType")
        template_id = integer(p, "TemplateId")
        extension = p.get("Extension", "")
        if not isinstance(extension, str):
            raise ApiError("InvalidParameter", "Extension must be a string")
        if end <= start:
            raise ApiError("InvalidParameter", "EndTime must be later than StartTime")
        if end <= now:
            raise ApiError("InvalidParameter", "EndTime must be later than the current time")
        if end - start > MAX_TASK_SECONDS:
            raise ApiError("InvalidParameter", "EndTime - StartTime must not exceed 24 hours")
        if start > now + MAX_START_AHEAD:
            raise ApiError("InvalidParameter", "StartTime must not be more than 6 days after the current time")
        if stream_type is not None and stream_type not in (0, 1):
            raise ApiError("InvalidParameter", "StreamType must be 0 (live push) or 1 (mixed stream)")
        if template_id is not None and template_id < 0:
            raise ApiError("InvalidParameter", "TemplateId must be a non-negative integer")
        task_id = "RT" + uuid.uuid4().hex.upper()
        task = {"TaskId": task_id, "Region": region, **names, "StartTime": start, "EndTime": end}
        task |= {"StreamType": stream_type or 0, "TemplateId": template_id, "Extension": extension}
        task |= {"Status": CREATED, "Stopped": 0, "Deleted": 0, "CreatedAt": int(now)}
        with self._lock:
            self._tasks[task_id] = task
        return {"TaskId": task_id}

    def delete(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        now = self._now()
        with self._lock:
            task = self._task(region, p)
            running = task["Status"] == CREATED and task["StartTime"] <= now < task["EndTime"]
            task["Status"] = DELETED_RUNNING if running else DELETED
            task["Deleted"] = int(now)  # a task deleted after its window recorded it all
        return {}

    def stop(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        now = self._now()
        with self._lock:
            task = self._task(region, p)
            if task["Status"] == STOPPED:
                return {}  # the docs are silent on a second stop; it is taken as done already
            if now < task["StartTime"]:
                raise ApiError("UnsupportedOperation", "the task has not started: delete it instead")
            if now >= task["EndTime"]:
                raise ApiError("UnsupportedOperation", "the task has already ended")
            task["Status"] = STOPPED
            task["Stopped"] = int(now)
        return {}

    def describe(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        """The tasks that start and end inside StartTime..EndTime, filtered by the stream's names, a page at
        a time: a ScrollToken names the next page of exactly this query."""
        now = self._now()
        start, end = required_integer(p, "StartTime"), required_integer(p, "EndTime")
        if end <= start:
            raise ApiError("InvalidParameter", "EndTime must be later than StartTime")
        if end - start > MAX_QUERY_SPAN:
            raise ApiError("InvalidParameter", "the query span must not exceed one week")
        if start < now - QUERY_HISTORY:
            raise ApiError("InvalidParameter", "StartTime must not be more than 90 days ago")
        filters = {name: text(p, name) for name in STREAM_FIELDS if name in p}
        query = (region, start, end, tuple(sorted(filters.items())))
        with self._lock:
            offset = self._offset(query, p.get("ScrollToken"))
            found = sorted(
                (
                    t
                    for t in self._tasks.values()
                    if t["Region"] == region
                    and t["Status"] not in GONE
                    and start <= t["StartTime"]
                    and t["EndTime"] <= end
                    and all(t[name] == value for name, value in filters.items())
                ),
                key=lambda t: (t["StartTime"], t["TaskId"]),
            )
            page = [_listed(t) for t in found[offset : offset + self.page_size]]
            token = ""
            if offset + self.page_size < len(found):
                token = uuid.uuid4().hex
                self._scrolls[token] = (query, offset + self.page_size)
        return {"TaskList": page, "ScrollToken": token}

    def _offset(self, query: tuple[Any, ...], token: Any) -> int:
        """Where a query's page starts (caller holds the lock); a token serves once, and only its query."""
        if not token:
            return 0
        known = self._scrolls.pop(str(token), None)
        if known is None or known[0] != query:
            raise ApiError("InvalidParameter", "ScrollToken is not valid for this query")
        return known[1]

    def _task(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        """The live task named by TaskId in this region (caller holds the lock)."""
        task_id = text(p, "TaskId")
        task = self._tasks.get(task_id)
        if task is None or task["Region"] != region or task["Status"] in GONE:
            raise ApiError("ResourceNotFound.TaskId", f"the task {task_id} does not exist")
        return task


def _listed(task: dict[str, Any]) -> dict[str, Any]:
    """A task as DescribeRecordTask lists it (the SDK's RecordTask): no template is listed as 0."""
    return {**{name: task[name] for name in LISTED_FIELDS}, "TemplateId": task["TemplateId"] or 0}
