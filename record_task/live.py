"""The Tencent Live (CSS) record-task API, through the official SDK.

The SDK signs (TC3-HMAC-SHA256), sends and parses; this adapter adds what the service needs on top:
errors classified as transient or permanent, retries with jittered exponential backoff inside a
time budget (the SDK's own retryer, subclassed: its stock policy has no jitter, no budget and does
not retry `InternalError`), a process-wide rate limit for `CreateRecordTask`, and one safeguard the
SDK cannot know about: `CreateRecordTask` is not idempotent, so after a network error (the request
may have been carried out) the adapter asks `DescribeRecordTask` before it creates again.

`CommonClient` is used rather than the generated `LiveClient`: it imports ~50 ms faster (TOOLING.md,
and `make bench`) and the four calls need nothing from the generated models.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from record_task.config import Settings
from record_task.errors import ConfigurationError, PermanentFailure, TransientFailure
from record_task.plan import RecordTaskRequest

SERVICE = "live"
VERSION = "2018-08-01"
NETWORK_ERRORS = frozenset({"ClientNetworkError", "ServerNetworkError"})
_TRANSIENT_EXACT = frozenset({"LimitExceeded.MaximumRunningTask"}) | NETWORK_ERRORS
_TRANSIENT_PREFIXES = ("InternalError", "RequestLimitExceeded")


def is_transient(code: str) -> bool:
    """Worth retrying: throttling, server trouble, the running-task cap, the network. Else permanent."""
    return code in _TRANSIENT_EXACT or code.startswith(_TRANSIENT_PREFIXES)


@dataclass(frozen=True)
class CreatedTask:
    task_id: str
    request_id: str


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    stream_name: str
    domain_name: str
    app_name: str
    start_time: int
    end_time: int
    stopped: bool


class RateLimiter:
    """At most `rate` calls in any rolling second, across every thread of the process.

    The API counts calls per second, so a burst up to the limit is fine (a batch of 10 costs one
    round trip) and only the call that would exceed it waits for the oldest to age out. A small
    margin on the window absorbs network jitter between granting a call and its arrival.
    """

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._limit = max(1, int(rate))
        self._window = self._limit / rate + 0.05
        self._clock = clock
        self._sleep = sleep
        self._granted: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            while self._granted and self._granted[0] <= now - self._window:
                self._granted.popleft()
            slot = now
            if len(self._granted) >= self._limit:
                slot = max(now, self._granted[-self._limit] + self._window)
            self._granted.append(slot)
        if slot > now:
            self._sleep(slot - now)


def _retryer_class() -> type:
    """Built on first use so that importing this module does not import the SDK."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.common.retry import StandardRetryer

    class BudgetRetryer(StandardRetryer):  # type: ignore[misc]
        """The SDK's retryer with our classification, full jitter and a time budget per call."""

        def __init__(
            self, budget: float, retry_network: bool, sleep: Callable[[float], None], clock: Callable[[], float]
        ) -> None:
            super().__init__(max_attempts=1_000)
            self._budget = budget
            self._retry_network = retry_network
            self._sleep = sleep
            self._clock = clock

        def send_request(self, fn: Callable[[], Any]) -> Any:
            deadline = self._clock() + self._budget
            attempt = 0
            while True:
                try:
                    return fn()
                except TencentCloudSDKException as exc:
                    code = exc.get_code() or "ClientNetworkError"
                    if not is_transient(code) or (code in NETWORK_ERRORS and not self._retry_network):
                        raise
                    delay = random.uniform(0, min(2.0, 0.1 * 2**attempt))
                    if self._clock() + delay > deadline:
                        raise
                    self._sleep(delay)
                    attempt += 1

    return BudgetRetryer


class LiveApi:
    """CreateRecordTask, DeleteRecordTask, StopRecordTask and DescribeRecordTask, one method each."""

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
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        self._host = parsed.netloc
        self._scheme = parsed.scheme
        self._default_region = default_region
        self._credentials = credentials
        self._budget = retry_budget_seconds
        self._timeout = timeout_seconds
        self._sleep = sleep
        self._clock = clock
        self._limiter = RateLimiter(rate_per_second, clock, sleep)
        self._local = threading.local()  # SDK clients hold a requests.Session: one per thread

    @classmethod
    def from_settings(cls, settings: Settings) -> LiveApi:
        return cls(
            endpoint=settings.live_endpoint,
            default_region=settings.tencent_region,
            credentials=credentials_from(settings),
            retry_budget_seconds=settings.live_retry_budget_seconds,
            rate_per_second=settings.live_rate_per_second,
            timeout_seconds=settings.live_timeout_seconds,
        )

    def create_record_task(self, request: RecordTaskRequest) -> CreatedTask:
        deadline = self._clock() + self._budget
        while True:
            self._limiter.acquire()
            try:
                response = self._call("CreateRecordTask", request.to_params(), request.region, retry_network=False)
                return CreatedTask(task_id=str(response["TaskId"]), request_id=str(response.get("RequestId", "")))
            except TransientFailure as exc:
                if exc.code not in NETWORK_ERRORS:
                    raise
                # The request may have been carried out: look before creating again.
                found = self._find(request)
                if found is not None:
                    return CreatedTask(task_id=found.task_id, request_id="")
                if self._clock() >= deadline:
                    raise

    def delete_record_task(self, task_id: str, region: str) -> str:
        return str(self._call("DeleteRecordTask", {"TaskId": task_id}, region).get("RequestId", ""))

    def stop_record_task(self, task_id: str, region: str) -> str:
        return str(self._call("StopRecordTask", {"TaskId": task_id}, region).get("RequestId", ""))

    def describe_record_tasks(
        self, *, stream_name: str, domain_name: str, app_name: str, start_time: int, end_time: int, region: str
    ) -> list[TaskInfo]:
        params: dict[str, Any] = {
            "StartTime": start_time,
            "EndTime": end_time,
            "StreamName": stream_name,
            "DomainName": domain_name,
            "AppName": app_name,
        }
        tasks: list[TaskInfo] = []
        while True:
            response = self._call("DescribeRecordTask", params, region)
            for item in response.get("TaskList") or []:
                tasks.append(
                    TaskInfo(
                        task_id=str(item["TaskId"]),
                        stream_name=str(item.get("StreamName", "")),
                        domain_name=str(item.get("DomainName", "")),
                        app_name=str(item.get("AppName", "")),
                        start_time=int(item.get("StartTime", 0)),
                        end_time=int(item.get("EndTime", 0)),
                        stopped=bool(item.get("Stopped", 0)),
                    )
                )
            token = response.get("ScrollToken")
            if not token:
                return tasks
            params["ScrollToken"] = token

    def _find(self, request: RecordTaskRequest) -> TaskInfo | None:
        for task in self.describe_record_tasks(
            stream_name=request.stream_name,
            domain_name=request.domain_name,
            app_name=request.app_name,
            start_time=request.start_time,
            end_time=request.end_time,
            region=request.region,
        ):
            if (task.start_time, task.end_time) == (request.start_time, request.end_time):
                return task
        return None

    def _call(self, action: str, params: dict[str, Any], region: str | None, *, retry_network: bool = True) -> Any:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        client = self._client(region or self._default_region, retry_network)
        try:
            return client.call_json(action, params)["Response"]
        except TencentCloudSDKException as exc:
            code = exc.get_code() or "ClientNetworkError"
            message = f"{action}: {code}: {exc.get_message()}"
            if is_transient(code):
                raise TransientFailure(message, code=code) from None
            raise PermanentFailure(message, code=code) from None

    def _client(self, region: str, retry_network: bool) -> Any:
        clients: dict[tuple[str, bool], Any] = self._local.__dict__.setdefault("clients", {})
        key = (region, retry_network)
        if key not in clients:
            from tencentcloud.common import credential
            from tencentcloud.common.common_client import CommonClient
            from tencentcloud.common.profile.client_profile import ClientProfile
            from tencentcloud.common.profile.http_profile import HttpProfile

            secret_id, secret_key = self._credentials()
            profile = ClientProfile(
                httpProfile=HttpProfile(protocol=self._scheme, endpoint=self._host, reqTimeout=self._timeout),
            )
            profile.retryer = _retryer_class()(self._budget, retry_network, self._sleep, self._clock)
            clients[key] = CommonClient(
                SERVICE, VERSION, credential.Credential(secret_id, secret_key), region, profile=profile
            )
        return clients[key]


def credentials_from(settings: Settings) -> Callable[[], tuple[str, str]]:
    """Keys from the environment, else the Secrets Manager secret (cached by Powertools)."""

    def read() -> tuple[str, str]:
        if settings.secret_id and settings.secret_key:
            return settings.secret_id, settings.secret_key
        if settings.credentials_secret:
            from aws_lambda_powertools.utilities import parameters

            try:
                secret = parameters.get_secret(settings.credentials_secret, transform="json", max_age=300)
            except Exception as exc:
                raise TransientFailure(
                    f"reading TENCENT_CREDENTIALS_SECRET failed: {type(exc).__name__}", code="CredentialsUnavailable"
                ) from None
            if not isinstance(secret, dict) or not secret.get("SecretId") or not secret.get("SecretKey"):
                raise ConfigurationError("TENCENT_CREDENTIALS_SECRET must hold JSON with SecretId and SecretKey")
            return str(secret["SecretId"]), str(secret["SecretKey"])
        raise ConfigurationError(
            "no Tencent credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, "
            "or TENCENT_CREDENTIALS_SECRET"
        )

    return read
