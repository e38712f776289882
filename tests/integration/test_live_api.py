"""The live adapter against the emulator over HTTP: the unmodified SDK signs, sends and parses.

Retry timing runs on fake time (sleeping moves the clock), so budgets of seconds cost none; the tests
that need real seconds (the API's per-second limit, a read timeout) say so.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from record_task.config import Settings
from record_task.errors import ConfigurationError, OperatorError, PermanentFailure, TransientFailure
from record_task.tencent.api import RecordTaskApi
from record_task.tencent.clients import SdkClients, parse_endpoint
from record_task.tencent.credentials import SdkCredential
from record_task.tencent.errors import BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS
from record_task.tencent.tasks import CreatedTask
from tests.integration.conftest import KEYS, REGION, FakeTime, actions, planned
from tools.emulator import Emulator, start_emulator

MakeApi = Callable[..., RecordTaskApi]


def creates(emulator: Emulator) -> int:
    return actions(emulator).count("CreateRecordTask")


# -- create ------------------------------------------------------------------------------------------


def test_create_sends_exactly_the_planned_parameters(make_api: MakeApi, live_emulator: Emulator) -> None:
    request = planned(region="ap-tokyo", stream_type=1, template_id=7, extension="x")
    created = make_api().create_record_task(request)
    (task,) = live_emulator.tasks
    assert task["TaskId"] == created.task_id and created.request_id
    sent = {name: task[name] for name in request.to_params()}
    assert sent == request.to_params() and task["Region"] == "ap-tokyo" and task["Status"] == "created"
    assert live_emulator.calls == [("CreateRecordTask", request.to_params())]


def test_wrong_key_or_unknown_secret_id_is_held_for_the_operator_and_not_retried_here(
    make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime
) -> None:
    cases = [(("AKIDEMULATOR", "not-the-key"), "AuthFailure.SignatureFailure"), (("AKIDOTHER", KEYS[1]), None)]
    for keys, code in cases:
        with pytest.raises(OperatorError) as caught:  # the retry is the queue's, after the operator's fix
            make_api(credentials=lambda keys=keys: keys).create_record_task(planned())
        assert caught.value.code == (code or "AuthFailure.SecretIdNotFound")
        assert keys[1] not in str(caught.value)  # Tencent's message, never the key
    assert creates(live_emulator) == 2 and live_emulator.tasks == [] and fake_time.sleeps == []


@pytest.mark.parametrize(
    "code",
    [
        "InternalError",
        "InternalError.SystemError",
        "RequestLimitExceeded",
        "RequestLimitExceeded.UinLimitExceeded",
        "LimitExceeded.MaximumRunningTask",
    ],
)
def test_transient_codes_are_retried_then_succeed(
    make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime, code: str
) -> None:
    live_emulator.inject("CreateRecordTask", code, times=2)
    created = make_api().create_record_task(planned())
    assert creates(live_emulator) == 3 and len(fake_time.sleeps) == 2
    assert [t["TaskId"] for t in live_emulator.tasks] == [created.task_id]


@pytest.mark.parametrize(
    "code",
    [
        "InvalidParameter",
        "InvalidParameterValue",
        "ResourceNotFound.TaskId",
        "ResourceUnavailable.InvalidVodStatus",
        "UnsupportedOperation",
        "FailedOperation",
        "SomethingNobodyDocumented",
    ],
)
def test_permanent_codes_fail_without_retry(
    make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime, code: str
) -> None:
    live_emulator.inject("CreateRecordTask", code, times=5)
    with pytest.raises(PermanentFailure) as caught:
        make_api().create_record_task(planned())
    assert caught.value.code == code and "injected by the emulator" in caught.value.message
    assert creates(live_emulator) == 1 and fake_time.sleeps == []


def test_retry_budget_exhausted_raises_the_last_transient_failure(
    make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime
) -> None:
    live_emulator.inject("CreateRecordTask", "RequestLimitExceeded", times=1000)
    with pytest.raises(TransientFailure) as caught:
        make_api(retry_budget_seconds=4.0).create_record_task(planned())
    assert caught.value.code == "RequestLimitExceeded"
    assert sum(fake_time.sleeps) <= 4.0 and creates(live_emulator) == len(fake_time.sleeps) + 1 > 3
    for attempt, slept in enumerate(fake_time.sleeps):  # exponential, capped, jittered in its upper half
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
        assert ceiling / 2 <= slept <= ceiling
    assert len(set(fake_time.sleeps)) == len(fake_time.sleeps)


def test_no_retry_at_all_when_the_first_sleep_would_pass_the_budget(
    make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime
) -> None:
    live_emulator.inject("CreateRecordTask", "InternalError", times=2)
    with pytest.raises(TransientFailure):
        make_api(retry_budget_seconds=0.05).create_record_task(planned())
    assert creates(live_emulator) == 1 and fake_time.sleeps == []


# -- network trouble ---------------------------------------------------------------------------------


def test_dropped_connection_is_retried_after_looking(make_api: MakeApi, live_emulator: Emulator) -> None:
    live_emulator.drop_connections("CreateRecordTask", times=1)
    created = make_api().create_record_task(planned())
    assert actions(live_emulator) == ["CreateRecordTask", "DescribeRecordTask", "CreateRecordTask"]
    assert [t["TaskId"] for t in live_emulator.tasks] == [created.task_id]


def test_lost_answer_adopts_the_task_instead_of_creating_twice(make_api: MakeApi, live_emulator: Emulator) -> None:
    live_emulator.drop_connections("CreateRecordTask", times=1, processed=True)
    created = make_api().create_record_task(planned())
    assert actions(live_emulator) == ["CreateRecordTask", "DescribeRecordTask"]
    assert [t["TaskId"] for t in live_emulator.tasks] == [created.task_id] and created.request_id == ""


def test_answer_later_than_the_timeout_then_success(
    make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime
) -> None:
    """Real seconds: the read timeout is 1 s and the first answer comes after 1.5 s."""
    live_emulator.set_latency(1.5)

    def sleep(seconds: float) -> None:
        live_emulator.set_latency(0)
        fake_time.sleep(seconds)

    created = make_api(timeout_seconds=1, sleep=sleep).create_record_task(planned())
    assert created.request_id == ""  # its own answer was never read: the task was found and adopted
    assert [t["TaskId"] for t in live_emulator.tasks] == [created.task_id]  # carried out once, adopted
    assert actions(live_emulator) == ["CreateRecordTask", "DescribeRecordTask"]


def test_network_errors_past_the_budget_are_transient(
    make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime
) -> None:
    live_emulator.drop_connections("CreateRecordTask", times=1000)
    with pytest.raises(TransientFailure) as caught:
        make_api(retry_budget_seconds=2.0).create_record_task(planned())
    assert caught.value.code == "ClientNetworkError" and sum(fake_time.sleeps) <= 2.0
    assert creates(live_emulator) == actions(live_emulator).count("DescribeRecordTask") + 1 > 1
    assert live_emulator.tasks == []


def test_idempotent_calls_retry_network_errors_themselves(make_api: MakeApi, live_emulator: Emulator) -> None:
    api = make_api()
    api.create_record_task(planned())
    live_emulator.drop_connections("DescribeRecordTask", times=1)
    live_emulator.inject("DescribeRecordTask", "InternalError", times=1)
    now = int(time.time())
    found = api.describe_record_tasks(
        stream_name="", domain_name="", app_name="", start_time=now, end_time=now + 86400, region=REGION
    )
    assert len(found) == 1 and actions(live_emulator).count("DescribeRecordTask") == 3


# -- throttling --------------------------------------------------------------------------------------


def run_at_once(
    count: int, work: Callable[[int], object], before: Callable[[], None] | None = None
) -> list[BaseException]:
    """`count` threads released together (`before` runs once they are all ready); returns what they raised."""
    gate = threading.Barrier(count, action=before)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        gate.wait()
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_the_apis_real_limit_from_many_threads_then_success() -> None:
    """Real threads: with the client limiter out of the way and the API's window spent until every thread's
    first create was refused (then the limit's clock jumps past the hold, so a slow host cannot outlast it),
    each booking's first create meets RequestLimitExceeded; retries win, and none creates twice."""
    jump = [0.0]
    with start_emulator(monotonic=lambda: time.monotonic() + jump[0]) as emulator:
        api = RecordTaskApi(
            endpoint=emulator.endpoint,
            default_region=REGION,
            credentials=lambda: KEYS,
            retry_budget_seconds=60,
            rate_per_second=10_000,
        )
        requests = [planned(600 + n) for n in range(30)]  # planned here: 30 windows even across a second's turn

        def first_attempts() -> int:
            return len({params["StartTime"] for action, params in emulator.calls if action == "CreateRecordTask"})

        def release() -> None:
            for _ in range(3000):  # bounded: a broken run fails on its assertions, it does not hang
                if first_attempts() == 30:
                    break
                time.sleep(0.01)
            jump[0] = 3600.0

        emulator.hold_rate_limit(3600.0)
        releaser = threading.Thread(target=release, daemon=True)
        releaser.start()
        assert run_at_once(30, lambda n: api.create_record_task(requests[n])) == []
        releaser.join(timeout=60)
        tried = Counter(params["StartTime"] for action, params in emulator.calls if action == "CreateRecordTask")
        assert len(emulator.tasks) == 30 and sorted(tried) == sorted(r.start_time for r in requests)
        assert min(tried.values()) >= 2  # each refused at least once, then created
        assert len({(t["StartTime"], t["EndTime"]) for t in emulator.tasks}) == 30


def test_a_throttled_create_is_transient_and_the_same_call_succeeds_once_the_limit_passed(
    make_api: MakeApi,
) -> None:
    """On the emulator's limit clock (the test moves it), so a slow host cannot outlast the hold."""
    seconds = [0.0]
    with start_emulator(monotonic=lambda: seconds[0]) as emulator:
        emulator.hold_rate_limit(1.0)
        with pytest.raises(TransientFailure) as caught:
            make_api(endpoint=emulator.endpoint, retry_budget_seconds=0.01).create_record_task(planned())
        assert caught.value.code == "RequestLimitExceeded"
        seconds[0] += 1.0
        make_api(endpoint=emulator.endpoint, retry_budget_seconds=0.01).create_record_task(planned())
        assert len(emulator.tasks) == 1 and creates(emulator) == 2


def test_a_burst_past_the_limit_through_the_client_limiter_lands_once_each(live_emulator: Emulator) -> None:
    """Real seconds: 30 creates at once at the default 20/s all land, one task each. How close the limiter
    keeps a burst to the API's limit is a speed figure (`make bench`, BENCHMARKS.md), not asserted here: on
    a loaded host a refusal may slip through, and the adapter retries it."""
    api = RecordTaskApi(
        endpoint=live_emulator.endpoint, default_region=REGION, credentials=lambda: KEYS, retry_budget_seconds=15
    )
    requests = [planned(600 + n) for n in range(30)]
    assert run_at_once(30, lambda n: api.create_record_task(requests[n])) == []
    assert len(live_emulator.tasks) == 30 <= creates(live_emulator)
    assert len({(t["StartTime"], t["EndTime"]) for t in live_emulator.tasks}) == 30


# -- delete, stop, describe --------------------------------------------------------------------------


def test_delete_stop_find_happy_paths(make_api: MakeApi, live_emulator: Emulator) -> None:
    api = make_api()
    live_emulator.page_size = 2
    requests = [planned(600 + 3600 * n) for n in range(5)]
    tasks = [api.create_record_task(request) for request in requests]
    assert [api.find_record_task(request) for request in requests] == [
        CreatedTask(task.task_id, request_id="") for task in tasks
    ]
    assert api.delete_record_task(tasks[0].task_id, REGION)
    assert api.find_record_task(requests[0]) is None  # a deleted task is gone
    now = int(time.time())
    live_emulator.set_clock(now + 600 + 3600 + 60)  # the second task is recording
    assert api.stop_record_task(tasks[1].task_id, REGION)
    live_emulator.set_clock(None)
    statuses = [t["Status"] for t in live_emulator.tasks]
    assert statuses == ["deleted", "stopped", "created", "created", "created"]


def test_describe_reads_every_page(make_api: MakeApi, live_emulator: Emulator) -> None:
    api = make_api()
    live_emulator.page_size = 2
    made = [api.create_record_task(planned(600 + 3600 * n)).task_id for n in range(5)]
    now = int(time.time())
    found = api.describe_record_tasks(
        stream_name="livetest", domain_name="", app_name="", start_time=now, end_time=now + 86400, region=REGION
    )
    assert [task.task_id for task in found] == made
    assert actions(live_emulator).count("DescribeRecordTask") == 3  # five tasks, pages of two


@pytest.mark.parametrize(
    "differs",
    [
        {"stream_name": "other-room"},
        {"domain_name": "6000.live.push.com"},
        {"app_name": "replay"},
        {"end_time": 1},  # the same start, another end (offset below)
        {"start_time": -1},  # another start, the same end
    ],
)
def test_find_matches_stream_domain_app_and_window_exactly(make_api: MakeApi, differs: dict[str, int | str]) -> None:
    api = make_api()
    request = planned(600, 3600)
    api.create_record_task(request)
    values: dict[str, Any] = {
        name: (getattr(request, name) + value if isinstance(value, int) else value) for name, value in differs.items()
    }
    assert api.find_record_task(replace(request, **values)) is None
    assert api.find_record_task(request) is not None


def test_a_lost_answer_does_not_adopt_a_near_miss(make_api: MakeApi, live_emulator: Emulator) -> None:
    """A task on the same window for another stream or app is not this request's: the create is sent again."""
    api = make_api()
    request = planned()
    for other in (replace(request, stream_name="other-room"), replace(request, app_name="replay")):
        api.create_record_task(other)
    live_emulator.drop_connections("CreateRecordTask", times=1)  # lost on the way in: never carried out
    created = api.create_record_task(request)
    assert created.request_id and [t["TaskId"] for t in live_emulator.tasks][-1] == created.task_id
    assert len(live_emulator.tasks) == 3
    assert actions(live_emulator)[-3:] == ["CreateRecordTask", "DescribeRecordTask", "CreateRecordTask"]


def test_the_look_shares_the_calls_deadline(make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime) -> None:
    live_emulator.drop_connections("CreateRecordTask", times=1)
    live_emulator.inject("DescribeRecordTask", "InternalError", times=1000)
    with pytest.raises(TransientFailure) as caught:
        make_api(retry_budget_seconds=2.0).create_record_task(planned())
    assert caught.value.code == "InternalError" and sum(fake_time.sleeps) <= 2.0
    assert actions(live_emulator).count("CreateRecordTask") == 1 and live_emulator.tasks == []


def test_delete_stop_describe_error_paths(make_api: MakeApi, live_emulator: Emulator, fake_time: FakeTime) -> None:
    api = make_api()
    task = api.create_record_task(planned())
    refusals: dict[str, tuple[Callable[[], object], str]] = {
        "unknown task": (lambda: api.delete_record_task("RT-NOPE", REGION), "ResourceNotFound.TaskId"),
        "other region": (lambda: api.delete_record_task(task.task_id, "ap-tokyo"), "ResourceNotFound.TaskId"),
        "not started": (lambda: api.stop_record_task(task.task_id, REGION), "UnsupportedOperation"),
        "span over a week": (
            lambda: api.describe_record_tasks(
                stream_name="", domain_name="", app_name="", start_time=0, end_time=8 * 86400, region=REGION
            ),
            "InvalidParameter",
        ),
        "region not served": (lambda: api.stop_record_task(task.task_id, "us-east-1"), "UnsupportedRegion"),
    }
    for name, (call, code) in refusals.items():
        with pytest.raises(PermanentFailure) as caught:
            call()
        assert caught.value.code == code, name
    assert len(live_emulator.calls) == 1 + len(refusals) and fake_time.sleeps == []
    live_emulator.inject("StopRecordTask", "InternalError", times=1000)
    with pytest.raises(TransientFailure):
        api.stop_record_task(task.task_id, REGION)


# -- wiring, credentials -----------------------------------------------------------------------------


def test_from_settings_with_environment_keys(live_emulator: Emulator) -> None:
    settings = Settings(live_endpoint=live_emulator.endpoint, secret_id=KEYS[0], secret_key=KEYS[1])
    created = RecordTaskApi.from_settings(settings).create_record_task(planned(region="ap-seoul"))
    assert [(t["TaskId"], t["Region"]) for t in live_emulator.tasks] == [(created.task_id, "ap-seoul")]


@pytest.fixture
def aws() -> Iterator[None]:
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with mock_aws():
        yield
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def put_secret(value: object) -> str:
    name = f"record-task/tencent-{uuid.uuid4().hex[:8]}"
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.create_secret(Name=name, SecretString=json.dumps(value))
    return name


def test_credentials_from_secrets_manager_are_read_once_and_cached(aws: None, live_emulator: Emulator) -> None:
    name = put_secret({"SecretId": KEYS[0], "SecretKey": KEYS[1]})
    api = RecordTaskApi.from_settings(Settings(live_endpoint=live_emulator.endpoint, credentials_secret=name))
    first = api.create_record_task(planned())
    boto3.client("secretsmanager", region_name="us-east-1").delete_secret(
        SecretId=name, ForceDeleteWithoutRecovery=True
    )
    second = api.create_record_task(planned(7200))  # signed with the cached keys
    assert [t["TaskId"] for t in live_emulator.tasks] == [first.task_id, second.task_id]


def test_wrong_keys_in_the_secret_are_a_signature_failure(aws: None, live_emulator: Emulator) -> None:
    name = put_secret({"SecretId": KEYS[0], "SecretKey": "rotated-elsewhere"})
    api = RecordTaskApi.from_settings(Settings(live_endpoint=live_emulator.endpoint, credentials_secret=name))
    with pytest.raises(OperatorError) as caught:
        api.create_record_task(planned())
    assert caught.value.code == "AuthFailure.SignatureFailure" and "rotated-elsewhere" not in str(caught.value)


def test_a_missing_secret_is_held_for_the_operator_and_malformed_is_configuration(
    aws: None, live_emulator: Emulator
) -> None:
    missing = RecordTaskApi.from_settings(Settings(live_endpoint=live_emulator.endpoint, credentials_secret="no-such"))
    with pytest.raises(OperatorError) as caught:
        missing.create_record_task(planned())
    assert caught.value.code == "ResourceNotFoundException" and "TENCENT_CREDENTIALS_SECRET" in caught.value.message
    name = put_secret({"SecretId": KEYS[0]})
    malformed = RecordTaskApi.from_settings(Settings(live_endpoint=live_emulator.endpoint, credentials_secret=name))
    with pytest.raises(ConfigurationError, match="SecretKey"):
        malformed.create_record_task(planned())
    assert live_emulator.calls == []


def test_missing_credentials_fail_on_first_use_naming_both_settings(live_emulator: Emulator) -> None:
    api = RecordTaskApi.from_settings(Settings(live_endpoint=live_emulator.endpoint))  # building is fine
    with pytest.raises(ConfigurationError) as caught:
        api.create_record_task(planned())
    assert "TENCENTCLOUD_SECRET_ID" in str(caught.value) and "TENCENT_CREDENTIALS_SECRET" in str(caught.value)
    assert live_emulator.calls == []


def test_keys_are_read_at_every_signature(make_api: MakeApi, live_emulator: Emulator) -> None:
    """A rotated key is used by the next call, through the same SDK client."""
    current = [KEYS]
    api = make_api(credentials=lambda: current[0])
    api.create_record_task(planned())
    current[0] = (KEYS[0], "rotated-elsewhere")
    with pytest.raises(OperatorError) as caught:
        api.create_record_task(planned(7200))
    current[0] = KEYS
    api.create_record_task(planned(9000))
    assert caught.value.code == "AuthFailure.SignatureFailure" and len(live_emulator.tasks) == 2


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_the_sdks_request_dumps_stay_out_of_our_logs(make_api: MakeApi) -> None:
    """At DEBUG the SDK logs whole requests, Authorization header included; none may reach the root logger."""
    root, sdk = logging.getLogger(), logging.getLogger("tencentcloud_sdk_common")
    collect = _Collect()
    root.addHandler(collect)
    sdk.setLevel(logging.DEBUG)
    try:
        make_api().create_record_task(planned())
    finally:
        root.removeHandler(collect)
        sdk.setLevel(logging.NOTSET)
    assert not [message for message in collect.messages if "Authorization" in message or KEYS[1] in message]


def test_one_sdk_client_per_thread_and_region(live_emulator: Emulator) -> None:
    clients = SdkClients(live_emulator.endpoint, SdkCredential(lambda: KEYS), 2)
    here = clients.for_region(REGION)
    assert clients.for_region(REGION) is here and clients.for_region("ap-tokyo") is not here
    elsewhere: list[object] = []
    worker = threading.Thread(target=lambda: elsewhere.append(clients.for_region(REGION)))
    worker.start()
    worker.join()
    assert elsewhere[0] is not here


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("live.intl.tencentcloudapi.com", ("https", "live.intl.tencentcloudapi.com")),
        ("http://127.0.0.1:9000", ("http", "127.0.0.1:9000")),
        ("https://live.tencentcloudapi.com/", ("https", "live.tencentcloudapi.com")),
    ],
)
def test_endpoint_is_a_host_or_a_url(endpoint: str, expected: tuple[str, str]) -> None:
    assert parse_endpoint(endpoint) == expected


@pytest.mark.parametrize("endpoint", ["ftp://host", "http://", "http://host:9000/v2"])
def test_malformed_endpoint_is_a_configuration_error(endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="LIVE_ENDPOINT"):
        parse_endpoint(endpoint)


def test_importing_the_adapter_does_not_load_the_sdk_client() -> None:
    heavy = ("requests", "tencentcloud.common.common_client")
    probe = f"import sys, record_task.tencent.api; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


class _Gateway(BaseHTTPRequestHandler):
    """Something between us and the API answering what the API never would: a 502, or HTML with a 200."""

    bad_gateway = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = (502, b"Bad Gateway") if self.bad_gateway else (200, b"<html/>")
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("mode", ["502", "html"])
def test_answers_that_are_not_the_api_are_transient(make_api: MakeApi, fake_time: FakeTime, mode: str) -> None:
    handler = type("Gateway", (_Gateway,), {"bad_gateway": mode == "502"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        api = make_api(endpoint=f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(TransientFailure) as caught:
            api.delete_record_task("RT1", REGION)
    finally:
        server.shutdown()
        server.server_close()
    assert caught.value.code == "ServerNetworkError"
    assert len(fake_time.sleeps) > 1 and sum(fake_time.sleeps) <= 3.0  # both retried by the one loop, in budget
