"""Recording callbacks close the loop: the emulator POSTs Tencent's signed callbacks over HTTP to
`handler.webhook` (through a local API Gateway stand-in), which publishes them for the booking."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from record_task.recordings.signature import sign_callback
from tools.lambda_events import FakeContext, direct, http_event
from tools.local_api import local_api
from tools.local_aws import MotoStack
from tools.sample_events import signed_direct

HOUR = 3600
KEY = "tencent-test-key"  # TENCENT_CALLBACK_KEY in tests/e2e/conftest.py


@pytest.fixture
def callbacks_to(handler: ModuleType, emulator: Any) -> Iterator[Any]:
    """The emulator, configured to send its callbacks to the function's /webhooks/tencent."""
    with local_api(handler.webhook) as api:
        emulator.configure_callbacks(f"{api}/webhooks/tencent", KEY)
        yield emulator


def book(handler: ModuleType, booking_id: str, start: int, end: int) -> dict[str, Any]:
    answer = handler.webhook(signed_direct(json.dumps(direct(booking_id, start, end))), FakeContext())
    assert answer["statusCode"] == 201, answer["body"]
    result: dict[str, Any] = json.loads(answer["body"])
    return result


def callback(handler: ModuleType, body: dict[str, Any]) -> dict[str, Any]:
    return handler.webhook(http_event("/webhooks/tencent", json.dumps(body)), FakeContext())  # type: ignore[no-any-return]


def statuses(results: list[dict[str, Any]]) -> list[str]:
    return [r["status"] for r in results]


def test_a_created_booking_goes_on_to_recorded_with_its_file(
    handler: ModuleType, stack: MotoStack, callbacks_to: Any
) -> None:
    t = int(time.time())
    created = book(handler, "rec-1", t + HOUR, t + 2 * HOUR)
    task_id = created["tasks"][0]["taskId"]
    stack.results()
    sent = callbacks_to.send_recording_callbacks(task_id, files=1, statuses=("start", "end"))
    assert [s.status for s in sent] == [200, 200, 200]
    results = stack.results()
    assert statuses(results) == ["recording_started", "recorded", "recording_ended"]
    recorded = results[1]
    assert (recorded["bookingId"], recorded["source"], recorded["action"]) == ("rec-1", "tencent", "record")
    assert recorded["_attributes"] == {"status": "recorded", "source": "tencent"}
    assert recorded["tasks"][0]["taskId"] == task_id
    file_body = sent[1].body
    assert recorded["recording"] == {
        "taskId": task_id,
        "fileId": file_body["file_id"],
        "fileFormat": file_body["file_format"],
        "videoUrl": file_body["video_url"],
        "startTime": file_body["start_time"],
        "endTime": file_body["end_time"],
        "duration": file_body["duration"],
        "fileSize": file_body["file_size"],
        "streamName": file_body["stream_id"],
    }
    assert results[0]["recordEvent"]["record_event"] == "record_start_succeeded"


def test_a_callback_delivered_again_publishes_nothing_new(
    handler: ModuleType, stack: MotoStack, callbacks_to: Any
) -> None:
    t = int(time.time())
    task_id = book(handler, "rec-2", t + HOUR, t + 2 * HOUR)["tasks"][0]["taskId"]
    sent = callbacks_to.send_recording_callbacks(task_id, files=1, statuses=("start",))
    stack.results()
    for earlier in sent:
        assert callbacks_to.deliver_callback(earlier.body).status == 200
    resigned = {k: v for k, v in sent[-1].body.items() if k not in ("t", "sign")}  # Tencent re-signs a retry
    assert callbacks_to.deliver_callback(resigned).status == 200
    assert stack.results() == []


def test_a_split_booking_reports_a_file_per_task(handler: ModuleType, stack: MotoStack, callbacks_to: Any) -> None:
    t = int(time.time())
    created = book(handler, "rec-split", t + HOUR, t + 31 * HOUR)
    task_ids = [task["taskId"] for task in created["tasks"]]
    assert len(task_ids) == 2
    stack.results()
    for task_id in task_ids:
        callbacks_to.send_recording_callbacks(task_id, files=1, statuses=())
    results = stack.results()
    assert statuses(results) == ["recorded", "recorded"]
    assert {r["bookingId"] for r in results} == {"rec-split"}
    assert [r["recording"]["taskId"] for r in results] == task_ids


@pytest.mark.parametrize(
    ("sent", "expected"),
    [(("fail",), ["recording_failed"]), (("start", "pause", "resume", "error"),
      ["recording_started", "recording_paused", "recording_resumed", "recording_failed"])],
)  # fmt: skip
def test_status_changes_are_published_for_the_booking(
    handler: ModuleType, stack: MotoStack, callbacks_to: Any, sent: tuple[str, ...], expected: list[str]
) -> None:
    t = int(time.time())
    task_id = book(handler, "rec-status", t + HOUR, t + 2 * HOUR)["tasks"][0]["taskId"]
    stack.results()
    callbacks_to.send_recording_callbacks(task_id, files=0, statuses=sent)
    results = stack.results()
    assert statuses(results) == expected and {r["bookingId"] for r in results} == {"rec-status"}


def test_an_abnormal_recording_names_no_task_but_is_placed_by_its_session(
    handler: ModuleType, stack: MotoStack, callbacks_to: Any
) -> None:
    t = int(time.time())
    task_id = book(handler, "rec-341", t + HOUR, t + 2 * HOUR)["tasks"][0]["taskId"]
    stack.results()
    callbacks_to.send_recording_callbacks(task_id, files=0, statuses=("start", "abnormal"))
    started, abnormal = stack.results()
    assert started["status"] == "recording_started"
    assert (abnormal["status"], abnormal["bookingId"]) == ("recording_failed", "rec-341")
    assert abnormal["recordEvent"]["exception"]["type"] == callbacks_to.sent_callbacks[-1].body["exception"]["type"]


def test_a_task_no_booking_owns_is_skipped_once(handler: ModuleType, stack: MotoStack, emulator: Any) -> None:
    t = int(time.time())
    body: dict[str, Any] = {"event_type": 100, "task_id": "not-ours", "stream_id": "other", "file_id": "f-1",
            "file_format": "mp4", "video_url": "https://x/y.mp4", "start_time": t, "end_time": t + 60,
            "duration": 60, "file_size": 1, "t": t + 600}  # fmt: skip
    body["sign"] = sign_callback(KEY, body["t"])
    first = callback(handler, body)
    assert first["statusCode"] == 200 and json.loads(first["body"])["status"] == "skipped"
    (skipped,) = stack.results()
    assert skipped["bookingId"] is None and "not-ours" in skipped["reason"]
    assert skipped["_attributes"] == {"status": "skipped", "source": "tencent"}
    assert callback(handler, body)["statusCode"] == 200 and stack.results() == []


def test_other_events_are_answered_and_not_published(handler: ModuleType, stack: MotoStack) -> None:
    t = int(time.time()) + 600
    answer = callback(handler, {"event_type": 1, "stream_id": "room", "t": t, "sign": sign_callback(KEY, t)})
    assert answer["statusCode"] == 200 and stack.results() == []


def signed_body(t: int, key: str = KEY) -> dict[str, Any]:
    return {"event_type": 332, "task_id": "x", "t": t, "sign": sign_callback(key, t)}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (lambda t: signed_body(t + 600, key="another-key"), "sign does not match"),
        (lambda t: signed_body(t - 1), "expired"),
        (lambda t: {"event_type": 100, "t": t + 600}, "cannot be authenticated"),
        (lambda t: "not json", "cannot be authenticated"),
    ],
)
def test_an_unproven_callback_is_401(
    handler: ModuleType, stack: MotoStack, body: Callable[[int], Any], says: str
) -> None:
    made = body(int(time.time()))
    raw = made if isinstance(made, str) else json.dumps(made)
    answer = handler.webhook(http_event("/webhooks/tencent", raw), FakeContext())
    assert answer["statusCode"] == 401 and says in json.loads(answer["body"])["error"]["message"]
    assert stack.results() == []


def test_without_a_key_the_route_is_closed(load_handler: Callable[..., ModuleType]) -> None:
    handler = load_handler(TENCENT_CALLBACK_KEY="")
    t = int(time.time()) + 600
    answer = callback(handler, signed_body(t))
    assert answer["statusCode"] == 401 and "TENCENT_CALLBACK_KEY" in json.loads(answer["body"])["error"]["message"]


def test_a_cancelled_bookings_recording_is_still_reported(
    handler: ModuleType, stack: MotoStack, callbacks_to: Any
) -> None:
    t = int(time.time())
    task_id = book(handler, "rec-cancel", t - 60, t + HOUR)["tasks"][0]["taskId"]  # recording now
    cancel = json.dumps({"BookingId": "rec-cancel", "Action": "cancel"})
    assert json.loads(handler.webhook(signed_direct(cancel), FakeContext())["body"])["status"] == "cancelled"
    stack.results()
    callbacks_to.send_recording_callbacks(task_id, files=1, statuses=("end",))
    assert statuses(stack.results()) == ["recorded", "recording_ended"]
