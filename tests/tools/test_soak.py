"""The soak's own machinery: the SQS simulator is SQS as `handler.queue` meets it, and the verdict
catches what it is there to catch (a second task, a lost booking, a result for nobody)."""

from __future__ import annotations

from typing import Any

from tools.soak.sqs import Message, SqsSimulator
from tools.soak.verdict import verify
from tools.soak.workload import make_bookings

NOW = 1_800_000_000


def test_simulator_redelivers_only_listed_failures_with_a_higher_receive_count_then_dead_letters() -> None:
    seen: list[tuple[str, str]] = []

    def queue(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event["Records"]
        seen.extend((r["messageId"], r["attributes"]["ApproximateReceiveCount"]) for r in records)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] == '"bad"']}

    sqs = SqsSimulator(queue, max_receive_count=3, visibility_seconds=0.0)
    sqs.send([Message("ok", "b-ok", "s-ok", '"ok"'), Message("bad", "b-bad", "s-bad", '"bad"')])
    sqs.run(give_up_after=10)
    assert seen == [("ok", "1"), ("bad", "1"), ("bad", "2"), ("bad", "3")]
    assert [m.message_id for m in sqs.dead_letters] == ["bad"]


def test_simulator_batches_hold_at_most_ten_records() -> None:
    sizes: list[int] = []

    def queue(event: dict[str, Any], context: Any) -> dict[str, Any]:
        sizes.append(len(event["Records"]))
        return {"batchItemFailures": []}

    sqs = SqsSimulator(queue, max_receive_count=1)
    sqs.send(Message(f"m{n}", f"b{n}", f"s{n}", "{}") for n in range(23))
    sqs.run(give_up_after=10)
    assert sizes == [10, 10, 3]


def test_bookings_are_distinct_cover_every_source_and_some_come_twice() -> None:
    messages = make_bookings(40, NOW, "w", duplicate_every=20)
    assert len(messages) == 42 and len({m.booking_id for m in messages}) == 40
    assert len({m.stream_name for m in messages}) == 40
    assert {m.source for m in messages} == {None, "direct", "calcom"}
    assert sum('"Type": "Notification"' in m.body for m in messages) == 8  # the SNS envelope, one in five


def _created(booking_id: str, task_id: str) -> dict[str, Any]:
    return {"status": "created", "bookingId": booking_id, "receivedAt": NOW, "tasks": [{"taskId": task_id}]}


def _task(task_id: str, stream: str, status: str = "created") -> dict[str, Any]:
    return {"TaskId": task_id, "StreamName": stream, "Status": status, "CreatedAt": NOW}


def test_the_verdict_passes_one_task_and_one_result_per_booking() -> None:
    messages = [Message("m1", "b1", "s1", "{}"), Message("m1-again", "b1", "s1", "{}"), Message("m2", "b2", "s2", "{}")]
    report = verify(messages, [_task("T1", "s1"), _task("T2", "s2")], [_created("b1", "T1"), _created("b2", "T2")], [])
    assert report.problems == [] and (report.bookings, report.messages, report.tasks) == (2, 3, 2)


def test_the_verdict_names_a_second_task_a_lost_booking_and_strays() -> None:
    messages = [Message("m1", "b1", "s1", "{}"), Message("m2", "b2", "s2", "{}")]
    tasks = [_task("T1", "s1"), _task("T1b", "s1"), _task("T9", "nobody")]
    results = [_created("b1", "T1"), _created("b9", "T9")]
    report = verify(messages, tasks, results, [])
    assert report.duplicates == 1 and report.lost == ["b2"]
    named = [problem.split(":")[0] for problem in report.problems]
    strays = ["results for bookings nobody sent", "tasks for streams no booking names"]
    assert named == ["b1", "b1", "b2", *strays]  # b1: two tasks, so its result cannot name its one task


def test_the_verdict_takes_the_dlq_with_its_reason_and_a_repeated_result_once() -> None:
    messages = [Message("m1", "b1", "s1", "{}"), Message("m2", "b2", "s2", "{}")]
    failed = {"status": "failed", "bookingId": "b2", "error": {"message": "no key"}}
    results = [_created("b1", "T1"), _created("b1", "T1"), failed]
    report = verify(messages, [_task("T1", "s1")], results, [messages[1]])
    assert report.problems == [] and report.dead_letters == {"b2": "no key"} and report.repeated_results == ["b1"]
