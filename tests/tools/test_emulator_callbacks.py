"""The emulator's recording callbacks, received over HTTP on 127.0.0.1 and read back with
record_task.recordings.callbacks.

The function's callback route will trust these bodies as Tencent's, so their shapes are pinned to the published
fixtures (tests/fixtures/tencent) and each one must pass `verify_callback` and parse back into the task's stream
and window: per task on request, for every task that ended on the emulator's clock, and over the control surface.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from record_task.recordings.callbacks import (
    MalformedCallback,
    OtherEvent,
    RecordingFile,
    RecordingState,
    RecordingStatus,
    parse_callback,
)
from record_task.recordings.signature import verify_callback
from tests.tools.conftest import control, sdk_call
from tools.emulator import Emulator, SentCallback

NOW = 1_800_000_000  # the emulator's clock: t is NOW + 600 on everything it sends
KEY = "callback-key-for-these-tests"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tencent"
HOUR = 3600


class Receiver:
    """A callback endpoint on 127.0.0.1 that keeps what it received and answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []  # (Content-Type, body)
        self.status = 200
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.arrived:
                    receiver.received.append((self.headers.get("Content-Type", ""), body))
                    receiver.arrived.notify_all()
                answer = json.dumps({"code": 0}).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/tencent"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_for(self, count: int) -> int:
        """How many arrived, once `count` have or 10 s passed: automatic callbacks follow the API's answer."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=10)
            return len(self.received)

    def read(self, now: int = NOW) -> list[Any]:
        """Every body received, authenticated and parsed as the function's route will."""
        return [parse_callback(verify_callback(body, KEY, now)) for _, body in self.received]


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(name="emulator")
def emulator_fixture(live_emulator: Emulator, receiver: Receiver) -> Emulator:
    live_emulator.set_clock(NOW)
    live_emulator.configure_callbacks(receiver.url, KEY)
    return live_emulator


def create(emulator: Emulator, start: int, end: int, stream: str = "room-42") -> str:
    params = {"StreamName": stream, "DomainName": "5000.live.push.com", "AppName": "live"}
    return str(sdk_call(emulator, "CreateRecordTask", {**params, "StartTime": start, "EndTime": end})["TaskId"])


def shape(value: Any) -> Any:
    """Key names and JSON types, recursively: what must match the published fixtures."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


# -- per task, on request -----------------------------------------------------------------------------------------


def test_a_tasks_callbacks_are_signed_posted_and_read_back_into_its_stream_and_window(
    emulator: Emulator, receiver: Receiver
) -> None:
    task_id = create(emulator, NOW + 60, NOW + 60 + HOUR)
    sent = emulator.send_recording_callbacks(task_id)
    assert [(s.event_type, s.status) for s in sent] == [(332, 200), (100, 200), (332, 200)]
    assert [content_type for content_type, _ in receiver.received] == ["application/json"] * 3
    started, recorded, ended = receiver.read()
    assert isinstance(started, RecordingStatus) and isinstance(ended, RecordingStatus)
    assert (started.status, ended.status) == (RecordingState.STARTED, RecordingState.ENDED)
    assert {started.task_id, ended.task_id} == {task_id} and started.session_id == ended.session_id != ""
    assert isinstance(recorded, RecordingFile)
    assert (recorded.task_id, recorded.stream_name, recorded.session_id) == (task_id, "room-42", started.session_id)
    assert (recorded.start_time, recorded.end_time, recorded.duration) == (NOW + 60, NOW + 60 + HOUR, HOUR)
    assert recorded.video_url == f"https://5000.live.push.com/live/room-42/{recorded.file_id}.mp4"
    assert all(s.body["t"] == NOW + 600 for s in sent)
    # t is the expiry: ten minutes later the same bodies are refused as expired
    assert all("expired" in str(_refusal(body, NOW + 601)) for _, body in receiver.received)


def _refusal(body: bytes, now: int) -> Exception:
    try:
        verify_callback(body, KEY, now)
    except Exception as refused:
        return refused
    raise AssertionError("accepted")


@pytest.mark.parametrize(
    ("fixture", "event_type", "status"),
    [("record_status", 332, "start"), ("record_file", 100, None), ("record_exception", 341, "abnormal")],
)
def test_every_body_has_the_shape_of_its_published_fixture(
    emulator: Emulator, fixture: str, event_type: int, status: str | None
) -> None:
    task_id = create(emulator, NOW + 60, NOW + HOUR)
    sent = emulator.send_recording_callbacks(task_id, statuses=() if status is None else (status,))
    (body,) = [s.body for s in sent if s.event_type == event_type]
    assert shape(body) == shape(json.loads((FIXTURES / f"{fixture}.json").read_text()))


def test_every_status_and_an_abnormal_recording_parse_to_their_statuses(emulator: Emulator, receiver: Receiver) -> None:
    task_id = create(emulator, NOW + 60, NOW + HOUR)
    statuses = ("start", "pause", "resume", "abnormal", "error", "fail", "end")
    emulator.send_recording_callbacks(task_id, files=0, statuses=statuses)
    found = receiver.read()
    assert [f.status for f in found] == [
        "recording_" + s for s in ("started", "paused", "resumed", "failed", "failed", "failed", "ended")
    ]
    assert [f.task_id for f in found] == [task_id] * 3 + [""] + [task_id] * 3  # 341 names no task
    assert len({f.session_id for f in found}) == 1 and len({f.dedup for f in found}) == len(statuses)


def test_a_reconnect_makes_consecutive_files_covering_the_window(emulator: Emulator, receiver: Receiver) -> None:
    task_id = create(emulator, NOW + 60, NOW + 60 + HOUR)
    emulator.send_recording_callbacks(task_id, files=3, statuses=())
    files = receiver.read()
    assert all(isinstance(f, RecordingFile) for f in files) and len({f.dedup_key for f in files}) == 3
    assert [(f.start_time, f.end_time) for f in files] == [
        (NOW + 60 + n * 1200, NOW + 60 + (n + 1) * 1200) for n in range(3)
    ]


def test_a_redelivery_is_the_same_body_and_the_same_dedup(emulator: Emulator, receiver: Receiver) -> None:
    task_id = create(emulator, NOW + 60, NOW + HOUR)
    sent = emulator.send_recording_callbacks(task_id, statuses=("start",))
    again = [emulator.deliver_callback(s.body) for s in sent]
    assert [s.body for s in again] == [s.body for s in sent] and len(receiver.received) == 4
    status, recorded, status_again, recorded_again = receiver.read()
    assert status.dedup == status_again.dedup and recorded.dedup_key == recorded_again.dedup_key


# -- when recordings end on the emulator's clock --------------------------------------------------------------------


def test_finish_reports_every_task_that_recorded_once(emulator: Emulator, receiver: Receiver) -> None:
    first = create(emulator, NOW + 60, NOW + 60 + 2 * HOUR)  # a split booking: two consecutive tasks
    second = create(emulator, NOW + 60 + 2 * HOUR, NOW + 60 + 3 * HOUR)
    stopped = create(emulator, NOW + 60, NOW + 60 + HOUR, stream="room-7")
    never = create(emulator, NOW + 600, NOW + 600 + HOUR, stream="room-9")
    assert emulator.finish_recordings() == []  # nothing has ended yet
    sdk_call(emulator, "DeleteRecordTask", {"TaskId": never})  # before it started: it records nothing
    emulator.set_clock(NOW + 120)
    sdk_call(emulator, "StopRecordTask", {"TaskId": stopped})
    emulator.set_clock(NOW + 60 + 3 * HOUR)
    sent = emulator.finish_recordings()
    assert emulator.finish_recordings() == []  # each task is reported once
    files = {f.task_id: f for f in receiver.read(NOW + 60 + 3 * HOUR) if isinstance(f, RecordingFile)}
    assert sorted(files) == sorted([first, second, stopped]) and len(sent) == 9
    assert (files[stopped].start_time, files[stopped].end_time) == (NOW + 60, NOW + 120)
    assert (files[first].end_time, files[second].start_time) == (NOW + 60 + 2 * HOUR,) * 2


def test_automatic_callbacks_follow_the_clock_and_the_api(emulator: Emulator, receiver: Receiver) -> None:
    assert control(emulator, "callbacks", {"url": receiver.url, "key": KEY, "automatic": True}) == (200, {"ok": True})
    task_id = create(emulator, NOW + 60, NOW + 60 + HOUR)
    status, answer = control(emulator, "clock", {"now": NOW + 60 + HOUR})
    assert status == 200 and [s["eventType"] for s in answer["sent"]] == [332, 100, 332]
    assert {f.task_id for f in receiver.read(NOW + 60 + HOUR)} == {task_id}
    later = create(emulator, NOW + 60 + HOUR, NOW + 2 * HOUR)
    emulator.set_clock(NOW + 3 * HOUR)  # the Python clock knob reports too ...
    assert receiver.wait_for(6) == 6
    assert {s.body["task_id"] for s in emulator.sent_callbacks[3:] if s.event_type == 100} == {later}
    emulator.configure_callbacks(receiver.url, KEY)  # not automatic: moving the clock sends nothing
    create(emulator, NOW + 3 * HOUR + 60, NOW + 3 * HOUR + 120)
    emulator.set_clock(NOW + 4 * HOUR)
    assert len(receiver.received) == 6
    emulator.configure_callbacks(receiver.url, KEY, automatic=True)
    sdk_call(emulator, "DescribeRecordTask", {"StartTime": NOW, "EndTime": NOW + 5 * HOUR})  # ... and an API call
    assert receiver.wait_for(9) == 9


# -- the control surface and the receiver's answers ---------------------------------------------------------------


def test_control_over_http(emulator: Emulator, receiver: Receiver) -> None:
    task_id = create(emulator, NOW + 60, NOW + HOUR)
    status, answer = control(emulator, "callbacks/send", {"taskId": task_id, "files": 2, "statuses": ["start"]})
    assert status == 200 and [(s["eventType"], s["status"]) for s in answer["sent"]] == [
        (332, 200),
        (100, 200),
        (100, 200),
    ]
    assert control(emulator, "callbacks")[1] == answer["sent"]  # GET: everything sent so far
    assert control(emulator, "callbacks/send", {"taskId": "RTNOSUCHTASK"})[0] == 400
    assert control(emulator, "callbacks/send", {"taskId": task_id, "statuses": ["launch"]})[0] == 400
    emulator.set_clock(NOW + HOUR)
    assert [s["eventType"] for s in control(emulator, "finish", {})[1]["sent"]] == [332, 100, 332]
    assert control(emulator, "reset", {}) == (200, {"ok": True}) and control(emulator, "callbacks")[1] == []
    assert control(emulator, "callbacks/send", {"taskId": task_id})[0] == 400  # the task is gone


def test_without_a_url_nothing_is_sent(live_emulator: Emulator) -> None:
    live_emulator.set_clock(NOW)
    task_id = create(live_emulator, NOW + 60, NOW + HOUR)
    live_emulator.set_clock(NOW + HOUR)
    assert live_emulator.finish_recordings() == []
    with pytest.raises(ValueError, match="not configured"):
        live_emulator.send_recording_callbacks(task_id)


def test_what_the_receiver_answered_is_kept(emulator: Emulator, receiver: Receiver) -> None:
    task_id = create(emulator, NOW + 60, NOW + HOUR)
    receiver.status = 500
    assert [s.status for s in emulator.send_recording_callbacks(task_id, files=0, statuses=("start",))] == [500]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens here once the probe is closed
    emulator.configure_callbacks(f"http://127.0.0.1:{closed}/", KEY)
    (refused,) = emulator.send_recording_callbacks(task_id, files=0, statuses=("end",))
    assert refused.status is None and "refused" in refused.error.lower()
    assert [s.status for s in emulator.sent_callbacks] == [500, None]


def test_sent_callbacks_are_values(emulator: Emulator) -> None:
    task_id = create(emulator, NOW + 60, NOW + HOUR)
    (sent,) = emulator.send_recording_callbacks(task_id, files=1, statuses=())
    assert isinstance(sent, SentCallback)
    assert sent.to_dict() == {"eventType": 100, "body": sent.body, "status": 200, "error": ""}
    assert not isinstance(parse_callback(sent.body), MalformedCallback | OtherEvent)
