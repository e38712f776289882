"""The record-task API in memory: tasks kept in a dict, for fast tests of the booking logic.

It keeps the API's rules that the booking logic relies on: a task id per create, a deleted task is
gone, a stopped one ends at the stop. Failures are injected by `fail_next` (a code the real adapter
would raise, classified the same way), so tests drive every branch without a network.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, replace

from record_task.errors import PermanentFailure
from record_task.model.tasks import RecordTaskRequest
from record_task.tencent.errors import failure_for
from record_task.tencent.tasks import CreatedTask, TaskInfo


@dataclass(frozen=True)
class KeptTask:
    info: TaskInfo
    region: str
    state: str = "waiting"  # waiting | stopped | deleted


class MemoryTaskApi:
    def __init__(self) -> None:
        self.tasks: dict[str, KeptTask] = {}
        self.calls: list[str] = []
        self._failures: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def fail_next(self, *codes: str) -> None:
        """The next calls answer these Tencent error codes, in order."""
        self._failures.extend(codes)

    def within(self, seconds: float) -> MemoryTaskApi:
        return self  # nothing here takes time

    def has_room(self) -> bool:
        return True

    def live(self) -> list[TaskInfo]:
        """The tasks that record something: not deleted."""
        return [kept.info for kept in self.tasks.values() if kept.state != "deleted"]

    def create_record_task(self, request: RecordTaskRequest) -> CreatedTask:
        self._enter("CreateRecordTask")
        task_id = f"task-{next(self._ids)}"
        info = TaskInfo(task_id, request.stream_name, request.domain_name, request.app_name,
                        request.start_time, request.end_time)  # fmt: skip
        with self._lock:
            self.tasks[task_id] = KeptTask(info, request.region)
        return CreatedTask(task_id, f"req-{task_id}")

    def find_record_task(self, request: RecordTaskRequest) -> CreatedTask | None:
        self._enter("DescribeRecordTask")
        found = next((t for t in self.live() if t.matches(request)), None)
        return None if found is None else CreatedTask(found.task_id, "")

    def delete_record_task(self, task_id: str, region: str) -> str:
        self._enter("DeleteRecordTask")
        self._change(task_id, "deleted")
        return f"req-delete-{task_id}"

    def stop_record_task(self, task_id: str, region: str) -> str:
        self._enter("StopRecordTask")
        self._change(task_id, "stopped")
        return f"req-stop-{task_id}"

    def describe_record_tasks(
        self, *, stream_name: str, domain_name: str, app_name: str, start_time: int, end_time: int, region: str
    ) -> list[TaskInfo]:
        self._enter("DescribeRecordTask")
        return [
            t for t in self.live()
            if (not stream_name or t.stream_name == stream_name) and start_time <= t.start_time
            and t.end_time <= end_time
        ]  # fmt: skip

    def _enter(self, action: str) -> None:
        with self._lock:
            self.calls.append(action)
            code = self._failures.pop(0) if self._failures else None
        if code is not None:
            raise failure_for(action, code, "injected by MemoryTaskApi")

    def _change(self, task_id: str, state: str) -> None:
        with self._lock:
            kept = self.tasks.get(task_id)
            if kept is None or kept.state == "deleted":
                raise PermanentFailure(f"task {task_id} does not exist", code="ResourceNotFound.TaskId")
            self.tasks[task_id] = replace(kept, state=state)
