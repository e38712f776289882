"""The live adapter against the emulator over HTTP: the unmodified SDK signs, sends and parses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from record_task.config import Settings
from record_task.errors import ConfigurationError, PermanentFailure, TransientFailure
from record_task.live import LiveApi, RateLimiter, is_transient
from record_task.plan import RecordTaskRequest
from tests.emulator import Emulator, start_emulator
from tests.local_aws import LocalStack

KEYS = ("AKIDEMULATOR", "emulator-secret-key")


@pytest.fixture
def live_emulator() -> Iterator[Emulator]:
    with start_emulator() as emulator:
        yield emulator


@pytest.fixture
def make_api(live_emulator: Emulator) -> Callable[..., LiveApi]:
    def make(**values: Any) -> LiveApi:
        options: dict[str, Any] = {
            "endpoint": live_emulator.endpoint,
            "default_region": "ap-singapore",
            "credentials": lambda: KEYS,
            "retry_budget_seconds": 3.0,
            "timeout_seconds": 1,
        }
        return LiveApi(**{**options, **values})

    return make


def request(offset: int = 600, **values: Any) -> RecordTaskRequest:
    now = int(time.time())
    return RecordTaskRequest(
        **{
            "stream_name": "livetest",
            "domain_name": "5000.live.push.com",
            "app_name": "live",
            "start_time": now + offset,
            "end_time": now + offset + 3600,
            "template_id": 0,
            **values,
        }
    )


def creates(emulator: Emulator) -> int:
    return sum(1 for action, _ in emulator.calls if action == "CreateRecordTask")


def test_create_sends_exactly_the_planned_parameters(make_api: Callable[..., LiveApi], live_emulator: Emulator) -> None:
    planned = request(region="ap-tokyo")
    created = make_api().create_record_task(planned)
    (task,) = live_emulator.tasks
    assert task["TaskId"] == created.task_id and created.request_id
    assert (
        task["Region"],
        task["StreamName"],
        task["DomainName"],
        task["AppName"],
        task["StartTime"],
        task["EndTime"],
        task["TemplateId"],
    ) == ("ap-tokyo", "livetest", "5000.live.push.com", "live", planned.start_time, planned.end_time, 0)
    assert live_emulator.calls == [("CreateRecordTask", planned.to_params())]


def test_wrong_key_is_a_signature_failure(make_api: Callable[..., LiveApi], live_emulator: Emulator) -> None:
    api = make_api(credentials=lambda: ("AKIDEMULATOR", "not-the-key"))
    with pytest.raises(PermanentFailure) as caught:
        api.create_record_task(request())
    assert caught.value.code == "AuthFailure.SignatureFailure"
    unknown = make_api(credentials=lambda: ("AKIDOTHER", "emulator-secret-key"))
    with pytest.raises(PermanentFailure) as caught:
        unknown.create_record_task(request())
    assert caught.value.code == "AuthFailure.SecretIdNotFound"
    assert live_emulator.tasks == []


@pytest.mark.parametrize(
    "code", ["InternalError", "InternalError.SystemError", "RequestLimitExceeded", "LimitExceeded.MaximumRunningTask"]
)
def test_transient_errors_are_retried_then_succeed(
    make_api: Callable[..., LiveApi], live_emulator: Emulator, code: str
) -> None:
    live_emulator.inject("CreateRecordTask", code, times=2)
    make_api().create_record_task(request())
    assert creates(live_emulator) == 3 and len(live_emulator.tasks) == 1


@pytest.mark.parametrize(
    "code",
    [
        "InvalidParameterValue",
        "InvalidParameter.ArgsNotMatch",
        "ResourceNotFound.TaskId",
        "ResourceUnavailable.InvalidVodStatus",
        "UnsupportedOperation",
        "AuthFailure.UnauthorizedOperation",
        "SomethingNobodyDocumented",
    ],
)
def test_permanent_errors_are_not_retried(make_api: Callable[..., LiveApi], live_emulator: Emulator, code: str) -> None:
    live_emulator.inject("CreateRecordTask", code, times=5)
    with pytest.raises(PermanentFailure) as caught:
        make_api().create_record_task(request())
    assert caught.value.code == code and creates(live_emulator) == 1


def test_budget_exhausted_is_transient(make_api: Callable[..., LiveApi], live_emulator: Emulator) -> None:
    live_emulator.inject("CreateRecordTask", "InternalError", times=10_000)
    started = time.monotonic()
    with pytest.raises(TransientFailure) as caught:
        make_api(retry_budget_seconds=0.5).create_record_task(request())
    assert caught.value.code == "InternalError" and time.monotonic() - started < 2
    assert creates(live_emulator) > 1


def test_backoff_is_jittered_and_bounded(make_api: Callable[..., LiveApi], live_emulator: Emulator) -> None:
    sleeps: list[float] = []
    live_emulator.inject("CreateRecordTask", "InternalError", times=6)
    make_api(sleep=sleeps.append, retry_budget_seconds=60).create_record_task(request())
    assert len(sleeps) == 6 and all(0 <= s <= 2.0 for s in sleeps)
    assert len(set(sleeps)) > 1


def test_real_throttling_from_many_threads_then_success(live_emulator: Emulator) -> None:
    """Without the client-side limiter the emulator's 20/s limit answers RequestLimitExceeded; retries win."""
    api = LiveApi(
        endpoint=live_emulator.endpoint,
        default_region="ap-singapore",
        credentials=lambda: KEYS,
        retry_budget_seconds=10,
        rate_per_second=1000,
    )
    start = threading.Barrier(40)

    def create(offset: int) -> None:
        api._client("ap-singapore", False)  # build this thread's SDK client before the race
        start.wait()
        api.create_record_task(request(offset))

    threads = [threading.Thread(target=create, args=(600 + n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(live_emulator.tasks) == 40
    assert creates(live_emulator) > 40  # some calls were throttled and retried


def test_client_side_rate_limit_keeps_under_the_api_limit(live_emulator: Emulator) -> None:
    api = LiveApi(
        endpoint=live_emulator.endpoint,
        default_region="ap-singapore",
        credentials=lambda: KEYS,
        retry_budget_seconds=0.01,
        rate_per_second=18,
    )
    threads = [threading.Thread(target=api.create_record_task, args=(request(600 + n),)) for n in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(live_emulator.tasks) == 25 and creates(live_emulator) == 25


def test_rate_limiter_allows_a_burst_then_waits_for_the_window() -> None:
    now = [0.0]
    waits: list[float] = []
    limiter = RateLimiter(3, clock=lambda: now[0], sleep=waits.append)
    for _ in range(5):
        limiter.acquire()
    assert waits == pytest.approx([1.05, 1.05])  # three at once, then each waits for a slot to age out
    now[0] = 10.0
    limiter.acquire()
    assert len(waits) == 2


def test_timeout_then_success_does_not_create_twice(make_api: Callable[..., LiveApi], live_emulator: Emulator) -> None:
    """A timed-out create may have been carried out: the adapter looks before it creates again."""
    live_emulator.set_latency(1.5)
    api = make_api(timeout_seconds=1, retry_budget_seconds=6)
    timer = threading.Timer(1.2, live_emulator.set_latency, args=(0,))
    timer.start()
    created = api.create_record_task(request())
    timer.join()
    assert [t["TaskId"] for t in live_emulator.tasks] == [created.task_id]
    assert [a for a, _ in live_emulator.calls][:2] == ["CreateRecordTask", "DescribeRecordTask"]


def test_dropped_connection_then_success(make_api: Callable[..., LiveApi], live_emulator: Emulator) -> None:
    live_emulator.drop_connections("CreateRecordTask", times=1)
    created = make_api().create_record_task(request())
    assert [t["TaskId"] for t in live_emulator.tasks] == [created.task_id]
    assert creates(live_emulator) == 1  # the dropped call never reached the handler


def test_delete_stop_describe(make_api: Callable[..., LiveApi], live_emulator: Emulator) -> None:
    api = make_api()
    first, second, third = (api.create_record_task(request(600 + 3600 * n)) for n in range(3))
    found = api.describe_record_tasks(
        stream_name="livetest",
        domain_name="5000.live.push.com",
        app_name="live",
        start_time=int(time.time()),
        end_time=int(time.time()) + 86400,
        region="ap-singapore",
    )
    assert [t.task_id for t in found] == [first.task_id, second.task_id, third.task_id]  # across pages
    assert api.delete_record_task(first.task_id, "ap-singapore")
    assert api.stop_record_task(second.task_id, "ap-singapore")
    statuses = {t["TaskId"]: t["Status"] for t in live_emulator.tasks}
    assert statuses == {first.task_id: "deleted", second.task_id: "stopped", third.task_id: "created"}
    with pytest.raises(PermanentFailure) as caught:
        api.delete_record_task(first.task_id, "ap-singapore")
    assert caught.value.code.startswith("ResourceNotFound")


def test_server_side_rules_catch_what_a_client_might_miss(make_api: Callable[..., LiveApi]) -> None:
    api = make_api()
    now = int(time.time())
    bad = [
        RecordTaskRequest("s", "d", "a", now + 600, now + 600 + 86401),
        RecordTaskRequest("s", "d", "a", now + 7 * 86400, now + 7 * 86400 + 60),
        RecordTaskRequest("s", "d", "a", now - 7200, now - 3600),
        RecordTaskRequest("", "d", "a", now + 600, now + 1200),
        RecordTaskRequest("s", "d", "a", now + 600, now + 1200, stream_type=2),
        RecordTaskRequest("s", "d", "a", now + 600, now + 1200, template_id=-1),
    ]
    for item in bad:
        with pytest.raises(PermanentFailure) as caught:
            api.create_record_task(item)
        assert caught.value.code.startswith(("InvalidParameter", "MissingParameter")), item
    with pytest.raises(PermanentFailure) as caught:
        api.create_record_task(RecordTaskRequest("s", "d", "a", now + 600, now + 1200, region="us-east-1"))
    assert caught.value.code == "UnsupportedRegion"


def test_classification_table() -> None:
    transient = [
        "InternalError",
        "InternalError.GetConfigError",
        "RequestLimitExceeded",
        "RequestLimitExceeded.UinLimitExceeded",
        "LimitExceeded.MaximumRunningTask",
        "ClientNetworkError",
        "ServerNetworkError",
    ]
    permanent = [
        "InvalidParameter",
        "InvalidParameterValue",
        "ResourceNotFound.TaskId",
        "ResourceUnavailable.InvalidVodStatus",
        "UnsupportedOperation",
        "AuthFailure.SignatureFailure",
        "LimitExceeded",
        "FailedOperation",
        "Unknown",
    ]
    assert all(is_transient(code) for code in transient)
    assert not any(is_transient(code) for code in permanent)


def test_credentials_from_secrets_manager(stack: LocalStack, live_emulator: Emulator) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=stack.endpoint, region_name="us-east-1")
    secrets.create_secret(
        Name="record-task/tencent", SecretString=json.dumps({"SecretId": KEYS[0], "SecretKey": KEYS[1]})
    )
    settings = Settings(live_endpoint=live_emulator.endpoint, credentials_secret="record-task/tencent")
    created = LiveApi.from_settings(settings).create_record_task(request())
    assert [t["TaskId"] for t in live_emulator.tasks] == [created.task_id]


def test_missing_credentials_name_the_settings(live_emulator: Emulator) -> None:
    api = LiveApi.from_settings(Settings(live_endpoint=live_emulator.endpoint))
    with pytest.raises(ConfigurationError, match="TENCENTCLOUD_SECRET_ID"):
        api.create_record_task(request())
