"""What the booking logic asks of the record-task API, as an interface: `RecordTaskApi` calls Tencent
through the SDK, `MemoryTaskApi` is its in-memory twin for fast tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from record_task.model.tasks import RecordTaskRequest


@dataclass(frozen=True)
class CreatedTask:
    task_id: str
    request_id: str  # empty when the task was adopted after its own answer was lost


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    stream_name: str
    domain_name: str
    app_name: str
    start_time: int
    end_time: int

    def matches(self, request: RecordTaskRequest) -> bool:
        """The task this request would create: same stream, domain, app and window."""
        mine = (request.stream_name, request.domain_name, request.app_name, request.start_time, request.end_time)
        return (self.stream_name, self.domain_name, self.app_name, self.start_time, self.end_time) == mine


class TaskApi(Protocol):
    def within(self, seconds: float) -> TaskApi:
        """The same API for one request that may spend at most `seconds` on it in all."""

    def has_room(self) -> bool:
        """Whether a create could start now (a bounded request's rate share is not used up)."""

    def create_record_task(self, request: RecordTaskRequest) -> CreatedTask:
        """Create the task once (an unanswered attempt's task is adopted, not made twice)."""

    def find_record_task(self, request: RecordTaskRequest) -> CreatedTask | None:
        """The task matching the request exactly, if one exists."""

    def delete_record_task(self, task_id: str, region: str) -> str:
        """Remove a task not started yet; the request id."""

    def stop_record_task(self, task_id: str, region: str) -> str:
        """End a recording under way; the request id."""

    def describe_record_tasks(
        self, *, stream_name: str, domain_name: str, app_name: str, start_time: int, end_time: int, region: str
    ) -> list[TaskInfo]:
        """Tasks that start and end inside [start_time, end_time], all pages."""
