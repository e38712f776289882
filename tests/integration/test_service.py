"""The booking decision end to end over HTTP: moto server (ledger, SNS) and the Tencent emulator."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from record_task.errors import OperatorError, TransientFailure
from record_task.ledger.items import Entry, State, booking_key
from record_task.model.booking import Action, Booking, StreamFields
from record_task.model.tasks import RecordTaskRequest
from tests.conftest import Clock
from tools.local_aws import MotoStack

HOUR = 3600
DAY = 24 * HOUR


def booking(booking_id: str, start: int, end: int, action: Action = "create", **values: Any) -> Booking:
    return Booking(
        booking_id=booking_id,
        source="direct",
        action=action,
        start_time=start,
        end_time=end,
        stream=StreamFields(stream_name=f"room-{booking_id}"),
        **values,
    )


def live_tasks(emulator: Any) -> list[dict[str, Any]]:
    return [t for t in emulator.tasks if t.get("Status") not in ("deleted",)]


def creates(emulator: Any) -> int:
    return sum(1 for action, _ in emulator.calls if action == "CreateRecordTask")


def sweep(app: Any, now: int, seconds_left: float = 60) -> dict[str, Any]:
    summary: dict[str, Any] = app.sweeper.run(now, lambda: seconds_left)
    return summary


def claimed_elsewhere(app: Any, b: Booking, request: RecordTaskRequest, lease_until: int) -> None:
    """The ledger as an invocation leaves it when it claimed `b` and then died."""
    pk = booking_key(b.source, b.booking_id)
    assert app.ledger.insert(Entry(pk, State.CREATING, b, (request,), lease_until=lease_until), 0) is None


def test_create_publishes_one_result_and_records_the_task(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    outcome = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now)
    result = outcome.primary
    assert result.status == "created" and not outcome.duplicate
    (task,) = emulator.tasks
    assert (task["StreamName"], task["StartTime"], task["EndTime"]) == ("room-b-1", now + HOUR, now + 2 * HOUR)
    assert result.tasks[0].task_id == task["TaskId"]
    (published,) = stack.results()
    assert published["status"] == "created" and published["bookingId"] == "b-1"
    assert published["_attributes"] == {"status": "created", "source": "direct"}
    assert published["tasks"][0]["taskId"] == task["TaskId"]


def test_duplicate_yields_the_first_outcome_without_a_second_task_or_result(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    first = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now)
    again = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now + 5)
    assert again.duplicate and again.primary == first.primary
    assert creates(emulator) == 1 and len(stack.results()) == 1


def remove_topic(stack: MotoStack) -> Callable[[], None]:
    """Delete the results topic (publishing fails); the returned call puts it back as it was."""
    sns = stack.client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=stack.topic_arn)["Subscriptions"]
    sns.delete_topic(TopicArn=stack.topic_arn)

    def restore() -> None:
        sns.create_topic(Name=stack.topic_arn.rsplit(":", 1)[1])
        for subscription in subscriptions:
            sns.subscribe(
                TopicArn=stack.topic_arn,
                Protocol="sqs",
                Endpoint=subscription["Endpoint"],
                Attributes={"RawMessageDelivery": "true"},
            )

    return restore


def test_publish_failure_then_retry_publishes_without_creating_again(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    restore_topic = remove_topic(stack)  # a missing topic is the operator's to fix: held, never final
    with pytest.raises(OperatorError, match="publishing"):
        app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now)
    assert creates(emulator) == 1 and stack.results() == []
    restore_topic()
    retry = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now + 30)
    assert retry.primary.status == "created" and not retry.duplicate
    assert creates(emulator) == 1
    assert [r["status"] for r in stack.results()] == ["created"]


def test_invalid_booking_is_rejected_and_published(app: Any, stack: MotoStack, emulator: Any, clock: Clock) -> None:
    now = int(clock.now)
    result = app.decision.handle(booking("b-1", now + HOUR, now + HOUR), now).primary
    assert result.status == "rejected" and result.error is not None and result.error.field == "EndTime"
    assert emulator.calls == []
    (published,) = stack.results()
    assert published["error"]["field"] == "EndTime"


def test_transient_failure_releases_the_claim_and_the_retry_creates_once(
    app_factory: Any, emulator: Any, clock: Clock
) -> None:
    app = app_factory(LIVE_RETRY_BUDGET_SECONDS="0.2")
    now = int(clock.now)
    emulator.inject("CreateRecordTask", "InternalError", times=50)
    with pytest.raises(TransientFailure):
        app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now)
    emulator.inject("CreateRecordTask", "InternalError", times=0)
    result = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now + 1).primary
    assert result.status == "created" and len(live_tasks(emulator)) == 1


def test_interrupted_attempt_is_adopted_not_created_twice(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    """A task made by an attempt that died before recording it is found through DescribeRecordTask."""
    now = int(clock.now)
    b = booking("b-1", now + HOUR, now + 2 * HOUR)
    request = RecordTaskRequest("room-b-1", "5000.live.push.com", "live", now + HOUR, now + 2 * HOUR)
    claimed_elsewhere(app, b, request, now + 10)
    orphan = app.api.create_record_task(request)
    result = app.decision.handle(b, now + 60).primary
    assert result.status == "created" and [t.task_id for t in result.tasks] == [orphan.task_id]
    assert creates(emulator) == 1


def test_permanent_refusal_is_failed_and_not_retried(app: Any, stack: MotoStack, emulator: Any, clock: Clock) -> None:
    now = int(clock.now)
    emulator.inject("CreateRecordTask", "ResourceUnavailable.InvalidVodStatus")
    result = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now).primary
    assert result.status == "failed" and result.error is not None
    assert result.error.code == "ResourceUnavailable.InvalidVodStatus"
    assert [r["status"] for r in stack.results()] == ["failed"]


@pytest.mark.parametrize(
    ("offset", "status", "operation"),
    [(-30 * 60, "cancelled", "deleted"), (30 * 60, "cancelled", "stopped"), (2 * HOUR, "skipped", None)],
    ids=["before", "during", "after"],
)
def test_cancel_before_during_after_the_window(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock, offset: int, status: str, operation: str | None
) -> None:
    now = int(clock.now)
    app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now)
    later = now + HOUR + offset
    clock.now = later
    result = app.decision.handle(booking("b-1", 0, 0, action="cancel"), later).primary
    assert result.status == status
    assert [t.operation for t in result.tasks] == ([operation] if operation else [])
    (task,) = emulator.tasks
    expected = {"deleted": "deleted", "stopped": "stopped"}.get(operation or "", task["Status"])
    assert task["Status"] == expected
    assert [r["status"] for r in stack.results()] == ["created", status]


def test_cancel_before_create_keeps_a_tombstone(app: Any, stack: MotoStack, emulator: Any, clock: Clock) -> None:
    now = int(clock.now)
    cancel = app.decision.handle(booking("b-1", 0, 0, action="cancel"), now).primary
    assert cancel.status == "skipped" and "later create" in (cancel.reason or "")
    create = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now + 1).primary
    assert create.status == "skipped" and emulator.calls == []
    assert [r["status"] for r in stack.results()] == ["skipped", "skipped"]


def test_reschedule_cancels_the_old_booking_and_creates_the_new(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    app.decision.handle(booking("old", now + HOUR, now + 2 * HOUR), now)
    moved = booking("new", now + 3 * HOUR, now + 4 * HOUR, replaces="old")
    outcome = app.decision.handle(moved, now + 10)
    assert [(r.booking_id, r.status) for r in outcome.results] == [("old", "cancelled"), ("new", "created")]
    assert sorted((t["StreamName"], t["Status"]) for t in emulator.tasks) == [
        ("room-new", "created"),
        ("room-old", "deleted"),
    ]


def test_a_create_repeated_after_its_cancel_is_skipped_not_answered_with_the_deleted_task(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now)
    app.decision.handle(booking("b-1", 0, 0, action="cancel"), now + 60)
    again = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now + 120)
    assert again.primary.status == "skipped" and not again.duplicate and "cancelled" in (again.primary.reason or "")
    assert [t["Status"] for t in emulator.tasks] == ["deleted"] and creates(emulator) == 1
    assert [r["status"] for r in stack.results()] == ["created", "cancelled", "skipped"]


def test_the_same_booking_id_with_another_window_is_rejected_naming_it(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    first = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now).primary
    moved = app.decision.handle(booking("b-1", now + 3 * HOUR, now + 4 * HOUR), now + 60)
    assert moved.primary.status == "rejected" and not moved.duplicate
    assert moved.primary.error is not None and moved.primary.error.field == "BookingId"
    same = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now + 120)
    assert same.duplicate and same.primary == first  # a true redelivery still gets the first outcome
    assert creates(emulator) == 1
    assert [r["status"] for r in stack.results()] == ["created", "rejected"]


def test_a_split_window_refused_half_way_leaves_no_partial_recording(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    emulator.inject("CreateRecordTask", "ResourceUnavailable.InvalidVodStatus", after=1)
    result = app.decision.handle(booking("long", now + HOUR, now + 31 * HOUR), now).primary
    assert result.status == "failed" and result.tasks == ()
    assert [t["Status"] for t in emulator.tasks] == ["deleted"]  # the first 24 h piece was removed again
    assert creates(emulator) == 2 and [r["status"] for r in stack.results()] == ["failed"]


def test_cancel_of_a_task_already_gone_at_the_api_is_cancelled(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    (task,) = app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now).primary.tasks
    app.api.delete_record_task(task.task_id, task.region)  # removed by hand in the console
    result = app.decision.handle(booking("b-1", 0, 0, action="cancel"), now + 60).primary
    assert result.status == "cancelled" and [t.operation for t in result.tasks] == ["deleted"]


def test_a_cancel_the_api_refuses_is_failed(app: Any, stack: MotoStack, emulator: Any, clock: Clock) -> None:
    now = int(clock.now)
    app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now)
    emulator.inject("DeleteRecordTask", "UnsupportedOperation")
    result = app.decision.handle(booking("b-1", 0, 0, action="cancel"), now + 60).primary
    assert result.status == "failed" and result.error is not None and result.error.code == "UnsupportedOperation"
    assert [t["Status"] for t in emulator.tasks] == ["created"]


def test_a_repeated_cancel_answers_the_first_outcome(app: Any, stack: MotoStack, emulator: Any, clock: Clock) -> None:
    now = int(clock.now)
    app.decision.handle(booking("b-1", now + HOUR, now + 2 * HOUR), now)
    first = app.decision.handle(booking("b-1", 0, 0, action="cancel"), now + 60).primary
    again = app.decision.handle(booking("b-1", 0, 0, action="cancel"), now + 120).primary
    assert again.status == "cancelled" and again.tasks == first.tasks
    assert sum(1 for action, _ in emulator.calls if action == "DeleteRecordTask") == 1


def test_cancel_during_a_create_waits_then_finishes_the_create_and_removes_it(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    """A cancel that meets a live claim is retried; once the claim lapsed it completes the interrupted
    create first (so it knows every task that exists), then removes what that made."""
    now = int(clock.now)
    b = booking("b-1", now + HOUR, now + 2 * HOUR)
    request = RecordTaskRequest("room-b-1", "5000.live.push.com", "live", now + HOUR, now + 2 * HOUR)
    claimed_elsewhere(app, b, request, now + 30)
    orphan = app.api.create_record_task(request)  # made, then the invocation died
    with pytest.raises(TransientFailure) as caught:
        app.decision.handle(booking("b-1", 0, 0, action="cancel"), now + 1)
    assert caught.value.code == "InProgress"
    result = app.decision.handle(booking("b-1", 0, 0, action="cancel"), now + 60).primary
    assert result.status == "cancelled" and [t.task_id for t in result.tasks] == [orphan.task_id]
    assert [t["Status"] for t in emulator.tasks] == ["deleted"] and creates(emulator) == 1


# -- deferral and the sweep -----------------------------------------------------------------------------------


def defer_far_booking(app: Any, clock: Clock) -> int:
    """Book "far" three weeks ahead (deferred), then move the clock to a day before it, when it is due."""
    now = int(clock.now)
    start = now + 21 * DAY
    assert app.decision.handle(booking("far", start, start + HOUR), now).primary.status == "deferred"
    clock.now = start - DAY
    return start


def test_far_booking_is_deferred_once_then_created_by_a_due_sweep(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    now = int(clock.now)
    start = now + 21 * DAY
    far = booking("far", start, start + HOUR)
    first = app.decision.handle(far, now).primary
    assert first.status == "deferred" and first.window == (start, start + HOUR)
    assert app.decision.handle(far, now + 5).duplicate
    assert sweep(app, now + DAY, 60)["due"] == 0  # not yet due
    assert emulator.calls == []
    clock.now = start - 2 * DAY
    summary = sweep(app, int(clock.now), 60)
    assert (summary["due"], summary["created"]) == (1, 1)
    (task,) = emulator.tasks
    assert (task["StartTime"], task["EndTime"]) == (start, start + HOUR)
    assert [r["status"] for r in stack.results()] == ["deferred", "created"]
    assert sweep(app, int(clock.now) + 60, 60)["due"] == 0


def test_two_concurrent_sweeps_create_each_task_once(app_factory: Any, emulator: Any, clock: Clock) -> None:
    apps = [app_factory(), app_factory()]
    now = int(clock.now)
    start = now + 10 * DAY
    for number in range(12):
        apps[0].decision.handle(booking(f"b-{number}", start, start + HOUR), now)
    clock.now = start - DAY
    barrier = threading.Barrier(2)
    summaries: list[Any] = []

    def run(app: Any) -> None:
        barrier.wait()
        summaries.append(sweep(app, int(clock.now), 60))

    threads = [threading.Thread(target=run, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert creates(emulator) == 12 and len(emulator.tasks) == 12
    assert sum(s["created"] for s in summaries) == 12


def test_cancel_before_activation_leaves_no_task(app: Any, stack: MotoStack, emulator: Any, clock: Clock) -> None:
    now = int(clock.now)
    start = now + 21 * DAY
    app.decision.handle(booking("far", start, start + HOUR), now)
    cancel = app.decision.handle(booking("far", 0, 0, action="cancel"), now + 60).primary
    assert cancel.status == "cancelled" and cancel.tasks == ()
    clock.now = start - DAY
    assert sweep(app, int(clock.now), 60)["created"] == 0
    assert emulator.calls == []


def test_transient_failure_in_a_sweep_is_retried_by_the_next(
    app_factory: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    app = app_factory(LIVE_RETRY_BUDGET_SECONDS="0.2")
    defer_far_booking(app, clock)
    emulator.inject("CreateRecordTask", "InternalError", times=100)
    first = sweep(app, int(clock.now), 60)
    assert (first["due"], first["created"], first["retryLater"]) == (1, 0, 1)
    emulator.inject("CreateRecordTask", "InternalError", times=0)
    second = sweep(app, int(clock.now) + 300, 60)
    assert second["created"] == 1 and len(live_tasks(emulator)) == 1


def test_a_sweep_whose_publish_failed_publishes_next_time_without_creating_again(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    defer_far_booking(app, clock)
    restore_topic = remove_topic(stack)
    first = sweep(app, int(clock.now), 60)
    assert (first["due"], first["created"], first["retryLater"]) == (1, 0, 1) and creates(emulator) == 1
    restore_topic()
    second = sweep(app, int(clock.now) + 300, 60)
    assert (second["due"], second["republished"], second["created"]) == (1, 1, 0) and creates(emulator) == 1
    assert [r["status"] for r in stack.results()] == ["deferred", "created"]
    assert sweep(app, int(clock.now) + 600, 60)["due"] == 0


def test_a_sweep_leaves_a_booking_claimed_by_another_invocation(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    defer_far_booking(app, clock)
    entry = app.ledger.get(booking_key("direct", "far"))
    assert app.ledger.take(entry, int(clock.now) + 60, int(clock.now), entry.requests)  # another sweep has it
    summary = sweep(app, int(clock.now))
    assert (summary["due"], summary["retryLater"]) == (1, 1) and emulator.calls == []


def test_a_sweep_near_the_end_of_its_time_leaves_the_rest_due(
    app: Any, stack: MotoStack, emulator: Any, clock: Clock
) -> None:
    defer_far_booking(app, clock)
    assert sweep(app, int(clock.now), 2)["retryLater"] == 1 and emulator.calls == []
    assert sweep(app, int(clock.now), 60)["created"] == 1


def test_sweep_after_the_window_closed_rejects_it(app: Any, stack: MotoStack, emulator: Any, clock: Clock) -> None:
    now = int(clock.now)
    start = now + 21 * DAY
    app.decision.handle(booking("far", start, start + HOUR), now)
    clock.now = start + 2 * HOUR
    summary = sweep(app, int(clock.now), 60)
    assert summary["rejected"] == 1 and emulator.calls == []
    assert [r["status"] for r in stack.results()][-1] == "rejected"


def test_start_beyond_max_ahead_is_rejected(app_factory: Any, clock: Clock) -> None:
    app = app_factory(MAX_AHEAD_SECONDS=str(30 * DAY))
    now = int(clock.now)
    result = app.decision.handle(booking("b", now + 40 * DAY, now + 40 * DAY + HOUR), now).primary
    assert result.status == "rejected" and result.error is not None and result.error.field == "StartTime"
