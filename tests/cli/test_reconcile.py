"""`reconcile`: an orphan, a missing task, a moved window and an overlap found; `--fix` re-creates the
missing task (and records it in the ledger) but leaves the orphan alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from record_task.model.tasks import RecordTaskRequest
from tests.cli.conftest import DOMAIN, HOUR, Run, cancel
from tests.conftest import Clock
from tools.local_aws import MotoStack

pytestmark = pytest.mark.usefixtures("operator_env")


def _live(emulator: Any) -> dict[str, dict[str, Any]]:
    return {task["TaskId"]: task for task in emulator.tasks if task["Status"] == "created"}


def _ledger_tasks(stack: MotoStack, booking_id: str) -> list[dict[str, Any]]:
    item = stack.client("dynamodb").get_item(TableName=stack.bookings_table, Key={"pk": {"S": f"direct#{booking_id}"}})
    return [{k: next(iter(v.values())) for k, v in t["M"].items()} for t in item["Item"]["tasks"]["L"]]


def test_reconcile_finds_what_differs_and_fixes_only_the_missing_task(
    cli: Callable[..., Run], book: Callable[..., Any], clock: Clock, emulator: Any, stack: MotoStack
) -> None:
    t = int(clock.now)
    api = book.app.api  # type: ignore[attr-defined]
    book("rc-fine", t + HOUR, t + 2 * HOUR, stream="room-a")
    lost = book("rc-lost", t + 3 * HOUR, t + 4 * HOUR, stream="room-b").tasks[0]
    shifted = book("rc-moved", t + 5 * HOUR, t + 6 * HOUR, stream="room-c").tasks[0]
    api.delete_record_task(lost.task_id, lost.region)  # behind the ledger's back
    moved = {":moved": {"N": str(t + 5 * HOUR + 600)}}  # the ledger believes another window than Tencent's
    stack.client("dynamodb").update_item(
        TableName=stack.bookings_table, Key={"pk": {"S": "direct#rc-moved"}},
        UpdateExpression="SET tasks[0].startTime = :moved", ExpressionAttributeValues=moved,
    )  # fmt: skip
    orphan = api.create_record_task(  # nobody's booking, and over rc-fine's window on its stream
        RecordTaskRequest("room-a", DOMAIN, "live", t + HOUR + 1800, t + 3 * HOUR, region="ap-singapore")
    ).task_id

    found = cli("reconcile", "--json")
    assert found.code == 1
    report = found.json
    assert [o["taskId"] for o in report["orphans"]] == [orphan]
    assert [(m["taskId"], m["bookingId"], m["fixed"]) for m in report["missing"]] == [(lost.task_id, "rc-lost", False)]
    assert [(m["taskId"], m["ledger"]["startTime"], m["tencent"]["startTime"]) for m in report["moved"]] == [
        (shifted.task_id, t + 5 * HOUR + 600, t + 5 * HOUR)
    ]
    assert [(o["taskIds"][1], o["seconds"]) for o in report["overlaps"]] == [(orphan, 1800)]
    assert report["unfixed"] == 4 and report["fixed"] == []
    assert lost.task_id not in _live(emulator)  # nothing was changed without --fix

    fixed = cli("reconcile", "--fix", "--json")
    assert fixed.code == 1  # the orphan, the moved window and the overlap are left for the operator
    (repair,) = fixed.json["fixed"]
    new_id = repair["newTaskId"]
    assert repair["missingTaskId"] == lost.task_id and fixed.json["missing"][0]["fixed"]
    live = _live(emulator)
    assert (live[new_id]["StreamName"], live[new_id]["StartTime"], live[new_id]["EndTime"]) == (
        "room-b", t + 3 * HOUR, t + 4 * HOUR,
    )  # fmt: skip
    assert orphan in live  # never deleted: it is not the function's
    assert [task["taskId"] for task in _ledger_tasks(stack, "rc-lost")] == [new_id]
    pointer = stack.client("dynamodb").get_item(TableName=stack.bookings_table, Key={"pk": {"S": f"task#{new_id}"}})
    assert pointer["Item"]["bookingPk"]["S"] == "direct#rc-lost"  # its recording callbacks find the booking

    again = cli("reconcile", "--json").json
    assert again["missing"] == [] and again["unfixed"] == 3
    text = cli("reconcile").out
    assert "orphans (in Tencent, owned by no booking; never deleted here): 1" in text and "unfixed: 3" in text


def test_a_consistent_ledger_exits_0(cli: Callable[..., Run], book: Callable[..., Any], clock: Clock) -> None:
    t = int(clock.now)
    book("ok-1", t + HOUR, t + 2 * HOUR, stream="room-a")
    book("ok-2", t + 2 * HOUR, t + 3 * HOUR, stream="room-a")  # touching windows do not overlap
    run = cli("reconcile")
    assert run.code == 0 and run.out.strip().endswith("all consistent")


def test_a_claim_under_way_is_no_orphan_and_a_stale_task_is_removed_by_fix(
    cli: Callable[..., Run], book: Callable[..., Any], clock: Clock, emulator: Any
) -> None:
    from record_task.errors import OperatorError

    t = int(clock.now)
    emulator.inject("CreateRecordTask", "AuthFailure.SecretIdNotFound", after=1)  # a split booking, held half-way
    with pytest.raises(OperatorError):
        book("rc-half", t + HOUR, t + 31 * HOUR, stream="room-h")
    stale = book("rc-gone", t + 2 * HOUR, t + 3 * HOUR, stream="room-g").tasks[0].task_id
    emulator.inject("DeleteRecordTask", "ResourceNotFound.TaskId")  # the cancel believes it deleted the task
    book.app.decision.handle(cancel("rc-gone"), t)  # type: ignore[attr-defined]
    assert stale in _live(emulator)

    report = cli("reconcile", "--json").json
    assert report["orphans"] == []  # rc-half's first piece: its claim will store (or adopt) it
    assert [(s["taskId"], s["fixed"]) for s in report["stale"]] == [(stale, False)]

    fixed = cli("reconcile", "--fix", "--json")
    assert fixed.code == 0 and fixed.json["stale"][0]["fixed"]
    assert stale not in _live(emulator)
