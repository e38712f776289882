"""`status` and `upcoming` on bookings the function made, read back from moto and the emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from record_task.errors import OperatorError
from tests.cli.conftest import HOUR, Run, Terminal, cancel
from tests.conftest import Clock
from tools.local_api import local_api

pytestmark = pytest.mark.usefixtures("operator_env")


def test_status_of_a_created_booking(cli: Callable[..., Run], book: Callable[..., Any], clock: Clock) -> None:
    t = int(clock.now)
    created = book("st-1", t + HOUR, t + 2 * HOUR)
    run = cli("status", "st-1", "--json")
    assert run.code == 0
    report = run.json
    assert (report["state"], report["ledgerKey"]) == ("active", "direct#st-1")
    assert [(task["taskId"], task["tencent"]) for task in report["tasks"]] == [(created.tasks[0].task_id, "present")]
    assert report["results"]["create"]["status"] == "created" and report["unpublished"] is None
    assert report["lastError"] is None and report["held"] is None
    text = cli("status", "st-1").out
    assert "booking st-1 (direct): active" in text and "Tencent: present" in text


def test_status_of_a_cancelled_booking(cli: Callable[..., Run], book: Callable[..., Any], clock: Clock) -> None:
    t = int(clock.now)
    book("st-2", t + HOUR, t + 2 * HOUR)
    book.app.decision.handle(cancel("st-2"), t)  # type: ignore[attr-defined]
    report = cli("status", "st-2", "--json").json
    assert report["state"] == "cancelled"
    assert [(task["operation"], task["tencent"]) for task in report["tasks"]] == [
        ("deleted", "gone (deleted by the cancellation)")
    ]
    assert report["results"]["cancel"]["status"] == "cancelled"


def test_status_of_a_recorded_booking(
    cli: Callable[..., Run], book: Callable[..., Any], clock: Clock, emulator: Any
) -> None:
    t = int(clock.now)
    task_id = book("st-3", t + HOUR, t + 2 * HOUR).tasks[0].task_id
    with local_api(book.app.webhook) as api:  # type: ignore[attr-defined]
        emulator.configure_callbacks(f"{api}/webhooks/tencent", "tencent-test-key")
        sent = emulator.send_recording_callbacks(task_id, files=1, statuses=("start",))
    assert [callback.status for callback in sent] == [200, 200]
    report = cli("status", "st-3", "--json").json
    statuses = sorted(record["result"]["status"] for record in report["recordings"])
    assert statuses == ["recorded", "recording_started"]
    recorded = next(r for r in report["recordings"] if r["result"]["status"] == "recorded")
    assert recorded["published"] and recorded["result"]["recording"]["fileId"] == sent[1].body["file_id"]
    assert sent[1].body["file_id"] in cli("status", "st-3").out


def test_status_shows_an_error_held_for_the_operator(
    cli: Callable[..., Run], book: Callable[..., Any], clock: Clock, emulator: Any
) -> None:
    t = int(clock.now)
    emulator.inject("CreateRecordTask", "AuthFailure.SecretIdNotFound")
    with pytest.raises(OperatorError):
        book("st-4", t + HOUR, t + 2 * HOUR)
    report = cli("status", "st-4", "--json").json
    assert report["state"] == "creating" and report["tasks"] == []
    assert report["held"]["code"] == "AuthFailure.SecretIdNotFound" and report["lastError"] == report["held"]
    assert "held (the operator must fix): AuthFailure.SecretIdNotFound" in cli("status", "st-4").out


def test_status_of_an_unknown_booking_fails(cli: Callable[..., Run]) -> None:
    run = cli("status", "nobody", "--source", "calcom")
    assert run.code == 1 and "no booking 'nobody' from calcom" in run.err


def test_upcoming_draws_a_timeline_per_stream(cli: Callable[..., Run], book: Callable[..., Any], clock: Clock) -> None:
    t = int(clock.now)
    first = book("up-1", t + HOUR, t + 2 * HOUR, stream="room-a").tasks[0].task_id
    second = book("up-2", t + 3 * HOUR, t + 5 * HOUR, stream="room-a").tasks[0].task_id
    other = book("up-3", t + 12 * HOUR, t + 13 * HOUR, stream="room-b").tasks[0].task_id
    book("up-later", t + 30 * HOUR, t + 31 * HOUR, stream="room-b")  # beyond 24 h

    report = cli("upcoming", "--json").json
    assert [s["stream"]["StreamName"] for s in report["streams"]] == ["room-a", "room-b"]
    rows = {row["taskId"]: row for stream in report["streams"] for row in stream["tasks"]}
    assert set(rows) == {first, second, other}
    assert {row["tencent"] for row in rows.values()} == {"present"}
    assert (rows[second]["bookingId"], rows[second]["startTime"], rows[second]["endTime"]) == (
        "up-2", t + 3 * HOUR, t + 5 * HOUR,
    )  # fmt: skip

    text = cli("upcoming").out
    bars = {line.split()[1]: line.split("|")[1] for line in text.splitlines() if line.startswith("  |")}
    assert bars["up-1"] == "." * 2 + "#" * 2 + "." * 44  # 48 marks across 24 h: 30 min each
    assert bars["up-3"] == "." * 24 + "#" * 2 + "." * 22
    assert "room-b" not in cli("upcoming", "--stream", "room-a").out
    assert "up-later" in cli("upcoming", "--hours", "48").out


def test_progress_goes_to_a_terminal_only(cli: Callable[..., Run], book: Callable[..., Any], clock: Clock) -> None:
    book("pr-1", int(clock.now) + HOUR, int(clock.now) + 2 * HOUR)
    terminal = cli("upcoming", "--json", err=Terminal())
    assert "scanning the booking ledger" in terminal.err and terminal.json["streams"]
    assert cli("upcoming", "--json").err == ""


def test_upcoming_names_deferred_bookings_inside_a_long_horizon(
    cli: Callable[..., Run], book: Callable[..., Any], clock: Clock
) -> None:
    t = int(clock.now)
    assert book("up-far", t + 20 * 24 * HOUR, t + 20 * 24 * HOUR + HOUR, stream="room-f").status == "deferred"
    assert cli("upcoming", "--json").json["deferred"] == []
    long = cli("upcoming", "--hours", str(21 * 24), "--json")  # spans several week-long DescribeRecordTask queries
    assert long.code == 0
    assert long.json["deferred"] == [{"bookingId": "up-far", "startTime": t + 480 * HOUR, "endTime": t + 481 * HOUR}]
    assert "deferred, no task yet (the sweep makes it): up-far" in cli("upcoming", "--hours", "504").out
