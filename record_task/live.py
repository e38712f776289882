"""The Tencent Live (CSS) record-task API, through the official SDK's generic `CommonClient`.

The SDK signs every request (TC3-HMAC-SHA256), sends it and parses `{"Response": ...}`; this adapter adds
what the service needs on top, and each choice has a reason:

- `CommonClient.call_json`, not the generated `LiveClient`: building a LiveClient in a fresh interpreter
  costs 30-50 ms more (its module imports 1.7 MB of models, 660 classes; medians of interleaved runs:
  CommonClient 119 ms, LiveClient 159 ms) and four JSON calls need nothing from those models.
- One SDK client per (thread, region), built on first use and then reused: a client holds a
  `requests.Session`, which requests does not promise to be thread-safe (psf/requests#2766), so a
  ThreadPoolExecutor sweep gives each worker its own. The SDK's region breaker stays off: when it opens
  it re-sends to `ap-guangzhou.tencentcloudapi.com` (also for an emulator endpoint), and in 3.1.x a
  failed request under it returns None instead of raising.
- Errors become values: `TransientFailure` (retried) or `PermanentFailure` (never), see `is_transient`.
- Retries go through the SDK's own hook, `ClientProfile(retryer=...)`, with a `StandardRetryer`
  subclass. Its `should_retry` and backoff are replaced by ours (our classification; exponential backoff
  with equal jitter), but its loop cannot express the rest, so `send_request` is overridden too: the
  stock loop only counts attempts (no clock, so no time budget), sleeps with `time.sleep` (so tests
  cannot inject a sleep) and sleeps once more after the last failed attempt before raising. Being the
  profile's retryer it replaces the SDK default (`NoopRetryer`): there is one retry loop per call, and
  every attempt is signed afresh.
- `CreateRecordTask` is not idempotent: after a network error or a timeout the task may exist. Those
  errors are not re-sent blindly; after the backoff the adapter asks `DescribeRecordTask` for a task with
  the exact stream and window, adopts it when found and only otherwise sends again. The look and the
  retries share the call's one deadline (`retry_budget_seconds`). What remains possible: a server that
  carries the request out later than timeout + backoff + the look.
- Every `CreateRecordTask` attempt holds a slot of a process-wide limiter (see `RateLimiter`), so a sweep
  creating a thousand tasks from a thread pool stays under the API's 20 requests per second.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.retry import StandardRetryer

from record_task.config import Settings
from record_task.errors import ConfigurationError, PermanentFailure, RecordTaskError, TransientFailure
from record_task.plan import RecordTaskRequest

logger = Logger(service="record-task", child=True)

SERVICE = "live"
API_VERSION = "2018-08-01"
NETWORK_ERRORS = frozenset({"ClientNetworkError", "ServerNetworkError"})
_TRANSIENT_CODES = NETWORK_ERRORS | {"LimitExceeded.MaximumRunningTask"}
_TRANSIENT_FAMILIES = ("InternalError", "RequestLimitExceeded")
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 3.0
RATE_WINDOW_SECONDS = 1.0
RATE_MARGIN_SECONDS = 0.05  # slack for how the API rounds its own seconds
TASK_CREATED = "created"
TASK_STOPPED = "stopped"


def is_transient(code: str) -> bool:
    """Worth retrying: server trouble, throttling, the running-task cap, the network. Anything else,
    including codes nobody documented, is permanent: sending the same request again cannot change it."""
    return code in _TRANSIENT_CODES or any(code == f or code.startswith(f + ".") for f in _TRANSIENT_FAMILIES)


def failure_for(action: str, code: str, message: str, request_id: str | None = None) -> RecordTaskError:
    """The failure a Tencent error becomes, carrying Tencent's own message and request id."""
    text = f"{action} failed: {code}: {message}"
    if request_id:
        text += f" (RequestId {request_id})"
    kind = TransientFailure if is_transient(code) else PermanentFailure
    return kind(text, code=code)


@dataclass(frozen=True)
class CreatedTask:
    task_id: str
    request_id: str  # empty when the task was found after its own answer was lost


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    stream_name: str
    domain_name: str
    app_name: str
    start_time: int
    end_time: int
    status: str  # "stopped" when DescribeRecordTask reports a Stopped time, else "created"


class RateLimiter:
    """At most `rate` calls in any rolling second as the API counts them, shared by every thread.

    The API counts a call when it arrives, which is some time after it was granted here (signing,
    connecting, a slow or busy host) and before its answer came back. So a slot is held for the whole
    call and given back one window after the call ended: two calls that share a slot then arrive at least
    a window apart, whatever the latency, and no rolling second at the API sees more than `rate` of them.
    A batch still goes out at once up to the limit; only the call that would exceed it waits.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = RATE_MARGIN_SECONDS,
    ) -> None:
        if rate <= 0:
            raise ConfigurationError(f"LIVE_RATE_PER_SECOND must be positive, got {rate}")
        self._limit = max(1, int(rate))
        self._window = self._limit / rate * RATE_WINDOW_SECONDS + margin
        self._clock = clock
        self._sleep = sleep
        self._in_flight = 0
        self._ended: deque[float] = deque()  # when calls still inside the window ended, oldest first
        self._changed = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Hold a slot for the call made inside; yields the seconds waited for it."""
        waited = self._take()
        try:
            yield waited
        finally:
            with self._changed:
                self._in_flight -= 1
                self._ended.append(self._clock())
                self._changed.notify_all()

    def _take(self) -> float:
        started = self._clock()
        while True:
            with self._changed:
                now = self._clock()
                while self._ended and self._ended[0] <= now - self._window:
                    self._ended.popleft()
                if self._in_flight + len(self._ended) < self._limit:
                    self._in_flight += 1
                    return now - started
                if not self._ended:  # every slot is in a call: wait for one to end
                    self._changed.wait(timeout=self._window)
                    continue
                pause = self._ended[0] + self._window - now
            self._sleep(pause)


_limiters: dict[float, RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(rate: float) -> RateLimiter:
    """The process's limiter for `rate`: every LiveApi at that rate draws from the same window."""
    with _limiters_lock:
        if rate not in _limiters:
            _limiters[rate] = RateLimiter(rate)
        return _limiters[rate]


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with equal jitter: never zero, never in lockstep with other threads."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** min(attempt, 16))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class _InFlight:
    """What the SDK retryer needs to know about the call being made on its thread."""

    action: str
    deadline: float
    retry_network: bool
    guard: Callable[[], AbstractContextManager[object]] | None = None  # held around each attempt


class _Retries:
    """Backoff, the call deadline and per-thread call state, shared by the SDK retryer and the adapter."""

    def __init__(self, budget: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self._budget = budget
        self._sleep = sleep
        self._clock = clock
        self._local = threading.local()

    @contextmanager
    def budget(self) -> Iterator[None]:
        """One deadline per adapter call, however many SDK calls it takes (a create's look shares it)."""
        if getattr(self._local, "deadline", None) is not None:
            yield
            return
        self._local.deadline = self._clock() + self._budget
        try:
            yield
        finally:
            self._local.deadline = None

    @contextmanager
    def sending(
        self, action: str, *, retry_network: bool, guard: Callable[[], AbstractContextManager[object]] | None
    ) -> Iterator[None]:
        """Tell the retryer which call it is retrying (the SDK hands it only an opaque closure)."""
        deadline = self._deadline()
        previous = getattr(self._local, "flight", None)
        self._local.flight = _InFlight(action, deadline, retry_network, guard)
        try:
            yield
        finally:
            self._local.flight = previous

    def _deadline(self) -> float:
        deadline: float | None = getattr(self._local, "deadline", None)
        return self._clock() + self._budget if deadline is None else deadline

    def in_flight(self) -> _InFlight:
        flight: _InFlight | None = getattr(self._local, "flight", None)
        if flight is None:  # only reachable if an SDK client were used outside `sending`
            return _InFlight("unknown", self._clock() + self._budget, retry_network=True)
        return flight

    def pause(self, attempt: int, action: str, code: str, deadline: float | None = None) -> bool:
        """Sleep before the next attempt, or return False when that sleep would end past the deadline."""
        if deadline is None:
            deadline = self._deadline()
        delay = backoff_delay(attempt)
        if self._clock() + delay > deadline:
            logger.warning("retry budget spent", extra={"action": action, "error": code, "attempts": attempt + 1})
            return False
        logger.info("retrying", extra={"action": action, "error": code, "attempt": attempt + 1, "delay": delay})
        self._sleep(delay)
        return True


class _BudgetRetryer(StandardRetryer):  # type: ignore[misc]
    """The SDK's retry hook with this adapter's classification, jitter and time budget.

    `max_attempts` and `backoff_fn` are the stock loop's knobs; the loop below replaces it and stops on
    the deadline instead of a count.
    """

    def __init__(self, retries: _Retries) -> None:
        super().__init__(max_attempts=1, backoff_fn=backoff_delay)
        self._retries = retries

    def should_retry(self, resp: Any, err: Any) -> bool:
        if not isinstance(err, TencentCloudSDKException):
            return False
        code = _code(err)
        return is_transient(code) and (code not in NETWORK_ERRORS or self._retries.in_flight().retry_network)

    def send_request(self, fn: Callable[[], Any]) -> Any:
        flight = self._retries.in_flight()
        attempt = 0
        while True:
            try:
                with flight.guard() if flight.guard is not None else nullcontext():
                    return fn()
            except TencentCloudSDKException as err:
                if not self.should_retry(None, err):
                    raise
                if not self._retries.pause(attempt, flight.action, _code(err), flight.deadline):
                    raise
                attempt += 1


def _code(err: Any) -> str:
    return str(err.get_code() or "ClientNetworkError")


class _Keys:
    """The SDK's credential interface over our callable, read at every signature so that a rotated
    secret (Powertools re-reads it after `max_age`) is used without rebuilding clients."""

    def __init__(self, read: Callable[[], tuple[str, str]]) -> None:
        self._read = read

    def get_credential_info(self) -> tuple[str, str, None]:
        secret_id, secret_key = self._read()
        return secret_id, secret_key, None


class LiveApi:
    """CreateRecordTask, DeleteRecordTask, StopRecordTask and DescribeRecordTask, one method each.

    Safe to share across threads. `sleep` and `clock` time the retries (tests pass fake ones); the rate
    limiter always paces in real time, since it protects a real per-second limit.
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
        self._scheme, self._host = parse_endpoint(endpoint)
        self._default_region = default_region
        self._credentials = credentials
        self._timeout = timeout_seconds
        self._retries = _Retries(retry_budget_seconds, sleep, clock)
        self._limiter = shared_limiter(rate_per_second)
        self._clients = threading.local()

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
        params = request.to_params()
        region = request.region or self._default_region
        with self._retries.budget():
            attempt = 0
            while True:
                try:
                    answer = self._send(
                        "CreateRecordTask", params, region, retry_network=False, guard=self._limiter.slot
                    )
                except TransientFailure as exc:
                    if exc.code not in NETWORK_ERRORS or not self._retries.pause(attempt, "CreateRecordTask", exc.code):
                        raise
                    attempt += 1
                    found = self._find(request, region)
                    if found is not None:  # the lost request was carried out: adopt, do not create twice
                        logger.warning("adopting a task whose create answer was lost", extra={"task_id": found.task_id})
                        return CreatedTask(task_id=found.task_id, request_id="")
                    continue
                return CreatedTask(task_id=str(answer["TaskId"]), request_id=str(answer.get("RequestId", "")))

    def delete_record_task(self, task_id: str, region: str) -> str:
        """Removes a task not yet started; the API lets a running recording go on (use stop for that)."""
        with self._retries.budget():
            answer = self._send("DeleteRecordTask", {"TaskId": task_id}, region or self._default_region)
        return str(answer.get("RequestId", ""))

    def stop_record_task(self, task_id: str, region: str) -> str:
        with self._retries.budget():
            answer = self._send("StopRecordTask", {"TaskId": task_id}, region or self._default_region)
        return str(answer.get("RequestId", ""))

    def describe_record_tasks(
        self, *, stream_name: str, domain_name: str, app_name: str, start_time: int, end_time: int, region: str
    ) -> list[TaskInfo]:
        """Tasks that start and end inside [start_time, end_time] (at most a week), all pages."""
        params: dict[str, Any] = {"StartTime": start_time, "EndTime": end_time}
        for name, value in (("StreamName", stream_name), ("DomainName", domain_name), ("AppName", app_name)):
            if value:
                params[name] = value
        tasks: list[TaskInfo] = []
        seen: set[str] = set()
        with self._retries.budget():
            while True:
                answer = self._send("DescribeRecordTask", params, region or self._default_region)
                tasks.extend(_task_info(item) for item in answer.get("TaskList") or [])
                token = answer.get("ScrollToken")
                if not token or token in seen:
                    return tasks
                seen.add(token)
                params = {**params, "ScrollToken": token}

    def find_record_task(self, request: RecordTaskRequest) -> CreatedTask | None:
        found = self._find(request, request.region or self._default_region)
        return CreatedTask(task_id=found.task_id, request_id="") if found else None

    # -- internals -------------------------------------------------------------------------------------

    def _find(self, request: RecordTaskRequest, region: str) -> TaskInfo | None:
        for task in self.describe_record_tasks(
            stream_name=request.stream_name,
            domain_name=request.domain_name,
            app_name=request.app_name,
            start_time=request.start_time,
            end_time=request.end_time,
            region=region,
        ):
            if (task.start_time, task.end_time) == (request.start_time, request.end_time):
                return task
        return None

    def _send(
        self,
        action: str,
        params: dict[str, Any],
        region: str,
        *,
        retry_network: bool = True,
        guard: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> dict[str, Any]:
        client = self._client(region)
        with self._retries.sending(action, retry_network=retry_network, guard=guard):
            try:
                body = client.call_json(action, params)
            except TencentCloudSDKException as exc:
                raise failure_for(action, _code(exc), str(exc.get_message()), exc.get_request_id()) from exc
            except json.JSONDecodeError as exc:  # e.g. a proxy's HTML page: no answer from the API
                raise TransientFailure(f"{action} failed: the answer is not JSON", code="ServerNetworkError") from exc
            except OSError as exc:  # the SDK wraps network errors only while sending, not while reading
                raise TransientFailure(f"{action} failed: {exc}", code="ClientNetworkError") from exc
        response = body.get("Response") if isinstance(body, dict) else None
        if not isinstance(response, dict):
            raise TransientFailure(f"{action} failed: the answer holds no Response object", code="ServerNetworkError")
        error = response.get("Error")
        if isinstance(error, dict):  # the SDK only parses errors sent as application/json or text/plain
            code = str(error.get("Code") or "FailedOperation")
            raise failure_for(action, code, str(error.get("Message", "")), response.get("RequestId"))
        return response

    def _client(self, region: str) -> Any:
        clients: dict[str, Any] = self._clients.__dict__.setdefault("by_region", {})
        client = clients.get(region)
        if client is None:
            client = clients[region] = self._build_client(region)
        return client

    def _build_client(self, region: str) -> Any:
        from tencentcloud.common.common_client import CommonClient
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        # At DEBUG the SDK dumps whole requests, Authorization header included: keep them out of our logs.
        logging.getLogger("tencentcloud_sdk_common").propagate = False
        profile = ClientProfile(
            httpProfile=HttpProfile(
                protocol=self._scheme, endpoint=self._host, reqTimeout=self._timeout, keepAlive=True
            ),
            language="en-US",
            disable_region_breaker=True,
            retryer=_BudgetRetryer(self._retries),
        )
        return CommonClient(SERVICE, API_VERSION, _Keys(self._credentials), region, profile=profile)


def _task_info(item: dict[str, Any]) -> TaskInfo:
    return TaskInfo(
        task_id=str(item["TaskId"]),
        stream_name=str(item.get("StreamName", "")),
        domain_name=str(item.get("DomainName", "")),
        app_name=str(item.get("AppName", "")),
        start_time=int(item.get("StartTime", 0)),
        end_time=int(item.get("EndTime", 0)),
        status=TASK_STOPPED if item.get("Stopped") else TASK_CREATED,
    )


def parse_endpoint(endpoint: str) -> tuple[str, str]:
    """`LIVE_ENDPOINT` as (scheme, host[:port]): a bare host means https, a URL keeps its own scheme."""
    parts = urlsplit(endpoint.strip() if "://" in endpoint else f"https://{endpoint.strip()}")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigurationError(
            f"LIVE_ENDPOINT must be a host (live.intl.tencentcloudapi.com) or http(s)://host[:port], got {endpoint!r}"
        )
    return parts.scheme, parts.netloc


def credentials_from(settings: Settings) -> Callable[[], tuple[str, str]]:
    """Keys from the environment, else from the Secrets Manager secret (read on first use, cached 5 min)."""

    def read() -> tuple[str, str]:
        if settings.secret_id and settings.secret_key:
            return settings.secret_id, settings.secret_key
        if not settings.credentials_secret:
            raise ConfigurationError(
                "no Tencent credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, "
                "or TENCENT_CREDENTIALS_SECRET naming a Secrets Manager secret"
            )
        from aws_lambda_powertools.utilities import parameters

        try:
            secret = parameters.get_secret(settings.credentials_secret, transform="json", max_age=300)
        except Exception as exc:  # throttled, unreachable or not (yet) readable: a later attempt may succeed
            raise TransientFailure(
                f"reading the secret named by TENCENT_CREDENTIALS_SECRET failed ({type(exc).__name__})",
                code="CredentialsUnavailable",
            ) from None
        if not isinstance(secret, dict) or not secret.get("SecretId") or not secret.get("SecretKey"):
            raise ConfigurationError('TENCENT_CREDENTIALS_SECRET must hold JSON {"SecretId": ..., "SecretKey": ...}')
        return str(secret["SecretId"]), str(secret["SecretKey"])

    return read
