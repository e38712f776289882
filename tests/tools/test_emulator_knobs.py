"""The emulator's per-second limit and its knobs (injected codes, dropped connections, late answers,
reset), in-process and over the control surface other processes use; and the emulator as a process."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from tests.tools.conftest import NOW, control, error_code, sdk_call
from tools.emulator import Emulator, start_emulator

DAY = 86400


def create(emulator: Emulator) -> str:
    body = {"StreamName": "s", "DomainName": "d.push", "AppName": "live", "StartTime": NOW + 60, "EndTime": NOW + 3600}
    return str(sdk_call(emulator, "CreateRecordTask", body)["TaskId"])


# -- the per-second limit ------------------------------------------------------------------------------------------


def create_in_background(emulator: Emulator) -> tuple[threading.Thread, threading.Event]:
    """A create in a thread of its own, returned once the emulator has made the task (bounded: a broken
    emulator fails the test, it does not hang it), with the event its answer sets."""
    answered = threading.Event()

    def call() -> None:
        create(emulator)
        answered.set()

    caller = threading.Thread(target=call)
    caller.start()
    for _ in range(600):
        if emulator.tasks:
            break
        time.sleep(0.05)
    return caller, answered


def test_create_is_limited_to_20_per_rolling_second() -> None:
    """On the limit's own clock, so a slow host cannot spread the calls over two seconds."""
    seconds = [100.0]
    with start_emulator(monotonic=lambda: seconds[0]) as emulator:
        emulator.set_clock(NOW)
        body = {"DomainName": "d", "AppName": "a", "EndTime": NOW + 60}
        codes = [error_code(emulator, "CreateRecordTask", {**body, "StreamName": f"s{n}"}) for n in range(24)]
        assert codes[:20] == [None] * 20 and set(codes[20:]) == {"RequestLimitExceeded"}
        query = {"StartTime": NOW, "EndTime": NOW + 60}
        assert error_code(emulator, "DescribeRecordTask", query) is None  # the limit is on creates only
        seconds[0] += 0.999
        assert error_code(emulator, "CreateRecordTask", {**body, "StreamName": "early"}) == "RequestLimitExceeded"
        seconds[0] += 0.001  # the first 20 were taken a second ago: their slots are free again
        codes = [error_code(emulator, "CreateRecordTask", {**body, "StreamName": f"t{n}"}) for n in range(21)]
        assert codes == [None] * 20 + ["RequestLimitExceeded"]
        assert len(emulator.tasks) == 40


def test_a_held_limit_refuses_every_create_until_it_passes() -> None:
    seconds = [100.0]
    with start_emulator(monotonic=lambda: seconds[0]) as emulator:
        emulator.set_clock(NOW)
        emulator.hold_rate_limit(3.0)
        seconds[0] += 2.9
        body = {"StreamName": "s", "DomainName": "d", "AppName": "a", "EndTime": NOW + 60}
        assert error_code(emulator, "CreateRecordTask", body) == "RequestLimitExceeded"
        seconds[0] += 0.1
        create(emulator)
        assert len(emulator.tasks) == 1


# -- knobs and the control surface -------------------------------------------------------------------


def test_injected_faults_replace_clear_and_stay_per_action(frozen: Emulator) -> None:
    query = {"StartTime": NOW, "EndTime": NOW + DAY}
    frozen.inject("DescribeRecordTask", "InternalError", times=5)
    frozen.inject("DescribeRecordTask", "ResourceUnavailable.InvalidVodStatus", times=1)  # replaces
    assert error_code(frozen, "CreateRecordTask", {"StreamName": "s", "DomainName": "d", "EndTime": NOW + 60}) == (
        "MissingParameter"  # another action's calls are untouched
    )
    assert error_code(frozen, "DescribeRecordTask", query) == "ResourceUnavailable.InvalidVodStatus"
    assert error_code(frozen, "DescribeRecordTask", query) is None
    frozen.inject("DescribeRecordTask", "InternalError", times=3)
    frozen.inject("DescribeRecordTask", "InternalError", times=0)  # clears
    assert error_code(frozen, "DescribeRecordTask", query) is None


def test_dropped_calls_are_logged_and_unanswered(frozen: Emulator) -> None:
    frozen.drop_connections("DescribeRecordTask", times=1)
    assert error_code(frozen, "DescribeRecordTask", {"StartTime": NOW, "EndTime": NOW + DAY}) == "ClientNetworkError"
    assert [action for action, _ in frozen.calls] == ["DescribeRecordTask"]


def test_latency_delays_the_answer_after_the_work_is_done() -> None:
    """The late answer is held on an event, not timed: the task exists while the caller still waits."""
    waited: list[float] = []
    release = threading.Event()

    def hold(seconds: float) -> None:
        waited.append(seconds)
        release.wait(timeout=60)

    with start_emulator(sleep=hold) as emulator:
        emulator.set_clock(NOW)
        emulator.set_latency(0.3)
        caller, answered = create_in_background(emulator)
        try:
            assert len(emulator.tasks) == 1 and not answered.is_set()
        finally:
            release.set()
            caller.join(timeout=30)
        assert answered.is_set() and waited == [0.3]


def test_held_answers_come_once_released_and_the_work_is_done_before(frozen: Emulator) -> None:
    frozen.hold_answers()
    caller, answered = create_in_background(frozen)
    try:
        assert len(frozen.tasks) == 1 and not answered.is_set()
        assert control(frozen, "release", {}) == (200, {"ok": True})
        caller.join(timeout=30)
        assert answered.is_set()
        assert control(frozen, "hold", {})[0] == 200
        frozen.reset()  # a reset releases too
        frozen.set_clock(NOW)
        create(frozen)
    finally:
        frozen.release_answers()
        caller.join(timeout=30)


def test_reset_forgets_everything(frozen: Emulator) -> None:
    create(frozen)
    frozen.inject("CreateRecordTask", "InternalError", times=9)
    frozen.set_latency(5)
    frozen.reset()
    assert frozen.tasks == [] and frozen.calls == []
    frozen.set_clock(NOW)
    create(frozen)
    assert len(frozen.tasks) == 1


def test_control_over_http(frozen: Emulator) -> None:
    assert control(frozen, "clock", {"now": NOW + 30}) == (200, {"ok": True})
    task_id = create(frozen)
    status, tasks = control(frozen, "tasks")
    assert status == 200 and [(t["TaskId"], t["StartTime"]) for t in tasks] == [(task_id, NOW + 60)]
    assert control(frozen, "inject", {"action": "DeleteRecordTask", "code": "InternalError", "times": 1})[0] == 200
    assert error_code(frozen, "DeleteRecordTask", {"TaskId": task_id}) == "InternalError"
    assert control(frozen, "drop", {"action": "DeleteRecordTask", "times": 1})[0] == 200
    assert error_code(frozen, "DeleteRecordTask", {"TaskId": task_id}) == "ClientNetworkError"
    assert control(frozen, "latency", {"seconds": 0.2})[0] == 200
    assert control(frozen, "page-size", {"size": 3})[0] == 200 and frozen.page_size == 3
    status, calls = control(frozen, "calls")
    assert [c["Action"] for c in calls] == ["CreateRecordTask", "DeleteRecordTask", "DeleteRecordTask"]
    assert calls[1]["Params"] == {"TaskId": task_id}
    assert control(frozen, "inject", {"code": "InternalError"})[0] == 400
    assert control(frozen, "nonsense", {})[0] == 404
    assert control(frozen, "reset", {}) == (200, {"ok": True}) and frozen.tasks == []
    assert control(frozen, "clock", {"now": None})[0] == 200


def test_runs_in_the_foreground_for_other_processes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.emulator", "--port", str(port), "--secret-id", "AKIDOTHER", "--secret-key", "k"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert f"127.0.0.1:{port}" in process.stdout.readline()
        endpoint = f"http://127.0.0.1:{port}"
        params = {"StreamName": "s", "DomainName": "d", "AppName": "a", "EndTime": int(time.time()) + 600}
        task_id = sdk_call(endpoint, "CreateRecordTask", params, keys=("AKIDOTHER", "k"))["TaskId"]
        assert [t["TaskId"] for t in control(endpoint, "tasks")[1]] == [task_id]
    finally:
        process.terminate()
        process.wait(timeout=10)
