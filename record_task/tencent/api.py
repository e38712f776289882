"""The Tencent Live (CSS) record-task API, through the official SDK's generic `CommonClient.call_json`.

The SDK signs, sends and parses; this adapter wraps each call in one retry loop bounded by the call's
deadline, turns errors into values (transient or permanent, `record_task.tencent.errors`), paces creates
through the process-wide limiter (`record_task.tencent.rate_limit`) and, since CreateRecordTask is not
idempotent, looks for a task a lost answer may have created before sending again. Choices and
measurements: docs/live-adapter.md.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from aws_lambda_powertools import Logger

from record_task.config import Settings
from record_task.errors import RecordTaskError
from record_task.model.tasks import RecordTaskRequest
from record_task.tencent.clients import SdkClients
from record_task.tencent.credentials import SdkCredential, credentials_from
from record_task.tencent.errors import NETWORK_ERRORS, Answer, backoff_delay, is_transient, outcome_of
from record_task.tencent.rate_limit import RateLimiter, shared_limiter
from record_task.tencent.tasks import CreatedTask, TaskInfo

logger = Logger(service="record-task", child=True)

CREATE = "CreateRecordTask"
DESCRIBE = "DescribeRecordTask"
# A bounded request (`within`) does not wait for a rate slot: none free now means this instance's share
# is used up, and queueing the booking answers the sender at once (docs/deploying.md).
SLOT_WAIT_SECONDS = 0.0


class RecordTaskApi:
    """CreateRecordTask, DeleteRecordTask, StopRecordTask and DescribeRecordTask; safe to share across threads.

    `sleep` and `clock` time the retries (tests pass fake ones); the rate limiter paces in real time,
    since it protects a real per-second limit.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        default_region: str,
        credentials: Callable[[], tuple[str, str]],
        retry_budget_seconds: float = 8.0,
        rate_per_second: float = 20.0,
        timeout_seconds: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = SdkClients(endpoint, SdkCredential(credentials), timeout_seconds)
        self._default_region = default_region
        self._budget = retry_budget_seconds
        self.sleep = sleep
        self.clock = clock
        self._limiter = shared_limiter(rate_per_second)
        self._until: float | None = None  # `within`: the calling request's own deadline

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordTaskApi:
        return cls(
            endpoint=settings.live_endpoint,
            default_region=settings.tencent_region,
            credentials=credentials_from(settings),
            retry_budget_seconds=settings.live_retry_budget_seconds,
            rate_per_second=settings.live_rate_per_second,
            timeout_seconds=settings.live_timeout_seconds,
        )

    def within(self, seconds: float) -> RecordTaskApi:
        """The same API (clients, limiter) for one request that may spend at most `seconds` on it in all:
        waiting for a rate slot, each call and the retries (the webhook's WEBHOOK_LIVE_BUDGET_SECONDS)."""
        bounded = copy.copy(self)
        bounded._until = self.clock() + seconds
        return bounded

    def has_room(self) -> bool:
        """Whether a create could start without waiting past the slot wait: always, for an unbounded API."""
        return self._until is None or self._limiter.free_within(SLOT_WAIT_SECONDS)

    def create_record_task(self, request: RecordTaskRequest) -> CreatedTask:
        """Creates the task once: after an unanswered attempt, a matching task is adopted, not created again."""
        region = self._region(request.region)
        deadline = self._deadline()

        def look() -> Answer | None:
            found = self._find(request, region, deadline)
            if found is None:
                return None
            logger.warning("adopting a task whose create answer was lost", extra={"task_id": found.task_id})
            return {"TaskId": found.task_id, "RequestId": ""}

        answer = self._call(CREATE, request.to_params(), region, deadline, limiter=self._limiter, look=look)
        return CreatedTask(task_id=str(answer["TaskId"]), request_id=str(answer.get("RequestId", "")))

    def find_record_task(self, request: RecordTaskRequest) -> CreatedTask | None:
        """The task matching the request exactly (stream, domain, app, window), if one exists."""
        region = self._region(request.region)
        found = self._find(request, region, self._deadline())
        return None if found is None else CreatedTask(task_id=found.task_id, request_id="")

    def delete_record_task(self, task_id: str, region: str) -> str:
        """Removes a task not yet started; the API lets a running recording go on (use stop for that)."""
        answer = self._call("DeleteRecordTask", {"TaskId": task_id}, self._region(region), self._deadline())
        return str(answer.get("RequestId", ""))

    def stop_record_task(self, task_id: str, region: str) -> str:
        answer = self._call("StopRecordTask", {"TaskId": task_id}, self._region(region), self._deadline())
        return str(answer.get("RequestId", ""))

    def describe_record_tasks(
        self, *, stream_name: str, domain_name: str, app_name: str, start_time: int, end_time: int, region: str
    ) -> list[TaskInfo]:
        """Tasks that start and end inside [start_time, end_time] (at most a week), all pages."""
        query = {"StreamName": stream_name, "DomainName": domain_name, "AppName": app_name}
        params: dict[str, Any] = {"StartTime": start_time, "EndTime": end_time}
        params.update({name: value for name, value in query.items() if value})
        return self._describe(params, self._region(region), self._deadline())

    # -- internals -------------------------------------------------------------------------------------

    def _deadline(self) -> float:
        own = self.clock() + self._budget
        return own if self._until is None else min(own, self._until)

    def _region(self, region: str | None) -> str:
        return region or self._default_region

    def _find(self, request: RecordTaskRequest, region: str, deadline: float) -> TaskInfo | None:
        return next(
            (task for task in self._describe(_window_of(request), region, deadline) if task.matches(request)), None
        )

    def _describe(self, params: dict[str, Any], region: str, deadline: float) -> list[TaskInfo]:
        tasks: list[TaskInfo] = []
        seen: set[str] = set()
        while True:
            answer = self._call(DESCRIBE, params, region, deadline)
            tasks.extend(_task_info(item) for item in answer.get("TaskList") or [])
            token = answer.get("ScrollToken")
            if not token or token in seen:
                return tasks
            seen.add(token)
            params = {**params, "ScrollToken": token}

    def _call(
        self,
        action: str,
        params: dict[str, Any],
        region: str,
        deadline: float,
        *,
        limiter: RateLimiter | None = None,
        look: Callable[[], Answer | None] | None = None,
    ) -> Answer:
        """The one retry loop: attempt, classify, back off with jitter, stop at the deadline. With `look`
        (a call that is not idempotent) an unanswered attempt is followed by the look before a resend."""
        attempt = 0
        while True:
            outcome = self._attempt(action, params, region, limiter, deadline)
            if not isinstance(outcome, RecordTaskError):
                return outcome
            if not is_transient(outcome.code) or not _pause(attempt, action, outcome.code, deadline, self):
                raise outcome
            attempt += 1
            found = look() if look is not None and outcome.code in NETWORK_ERRORS else None
            if found is not None:
                return found

    def _attempt(
        self, action: str, params: dict[str, Any], region: str, limiter: RateLimiter | None, deadline: float
    ) -> Answer | RecordTaskError:
        client = self._clients.for_region(region)
        wait = deadline - self.clock() if self._until is None else min(deadline - self.clock(), SLOT_WAIT_SECONDS)
        with limiter.slot(wait) if limiter is not None else nullcontext() as slot:
            outcome = outcome_of(action, lambda: client.call_json(action, params))
            unanswered = isinstance(outcome, RecordTaskError) and outcome.code in NETWORK_ERRORS
            if slot is not None and not unanswered:
                slot.answered()
        return outcome


def _pause(attempt: int, action: str, code: str, deadline: float, api: RecordTaskApi) -> bool:
    """Sleep before the next attempt, or return False when that sleep would end past the deadline."""
    delay = backoff_delay(attempt)
    if api.clock() + delay > deadline:
        logger.warning("retry budget spent", extra={"action": action, "error": code, "attempts": attempt + 1})
        return False
    logger.info("retrying", extra={"action": action, "error": code, "attempt": attempt + 1, "delay": delay})
    api.sleep(delay)
    return True


def _task_info(item: dict[str, Any]) -> TaskInfo:
    return TaskInfo(
        task_id=str(item["TaskId"]),
        stream_name=str(item.get("StreamName", "")),
        domain_name=str(item.get("DomainName", "")),
        app_name=str(item.get("AppName", "")),
        start_time=int(item.get("StartTime", 0)),
        end_time=int(item.get("EndTime", 0)),
    )


def _window_of(request: RecordTaskRequest) -> dict[str, Any]:
    """The DescribeRecordTask query for exactly the request's stream and window."""
    names = ("StreamName", "DomainName", "AppName", "StartTime", "EndTime")
    return {name: request.to_params()[name] for name in names}
