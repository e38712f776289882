"""The booking ledger on DynamoDB (moto server): conditional writes, the due index, and what a booking costs."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from record_task.booking import Booking, StreamFields
from record_task.ledger import BookingLedger, Entry, State, booking_key, task_key
from record_task.plan import RecordTaskRequest
from record_task.results import Result, TaskRecord
from tests.conftest import Clock
from tools.local_aws import LocalStack

NOW = 1_800_000_000
HOUR = 3600


@pytest.fixture
def ledger(stack: LocalStack) -> BookingLedger:
    return BookingLedger(stack.bookings_table, stack.client("dynamodb"))


def booking(booking_id: str = "b-1") -> Booking:
    return Booking(booking_id=booking_id, source="calcom", start_time=NOW + 30 * 86400, end_time=NOW + 30 * 86400 + 60)


def deferred(b: Booking, due_at: int) -> tuple[Entry, int]:
    result = Result.for_booking(b, "deferred", "t", window=(b.start_time or 0, b.end_time or 0))
    pk = booking_key(b.source, b.booking_id)
    return Entry(pk, State.DEFERRED, b, results={"create": result.to_message()}), due_at


def test_due_query_finds_only_what_is_due_and_never_scans(ledger: BookingLedger, requests_made: Counter[str]) -> None:
    for number, due_at in enumerate([NOW - 10, NOW, NOW + 10]):
        entry, due = deferred(booking(f"b-{number}"), due_at)
        assert ledger.insert(entry, NOW, due_at=due) is None
    requests_made.clear()
    found = sorted(e.booking.booking_id for e in ledger.due(NOW) if e.booking)
    assert found == ["b-0", "b-1"]
    assert requests_made == Counter({"Query": 1})


def test_due_query_pages_through_everything(ledger: BookingLedger) -> None:
    for number in range(25):
        entry, due = deferred(booking(f"b-{number}"), NOW - number)
        ledger.insert(entry, NOW, due_at=due)
    assert len(list(ledger.due(NOW, page_size=7))) == 25


def test_an_item_is_written_once_and_the_loser_reads_the_winner_in_the_same_request(
    ledger: BookingLedger, requests_made: Counter[str]
) -> None:
    entry, due = deferred(booking(), NOW)
    assert ledger.insert(entry, NOW, due_at=due) is None
    tombstone = Entry(entry.pk, State.CANCELLED, booking(), results={})
    requests_made.clear()
    winner = ledger.insert(tombstone, NOW)
    assert winner is not None and winner.state == State.DEFERRED and winner.booking == booking()
    assert requests_made == Counter({"PutItem": 1})


def test_of_many_concurrent_inserts_of_one_booking_exactly_one_is_written(stack: LocalStack) -> None:
    """The claim rests on DynamoDB applying a conditional put atomically; the local stand-in must too
    (tools/local_aws.OneRequestAtATime), or concurrent copies of a booking would both create its task."""
    contenders = 8
    for round_number in range(5):
        entry, _ = deferred(booking(f"race-{round_number}"), NOW)
        gate = threading.Barrier(contenders)

        def insert(_: int, entry: Entry = entry, gate: threading.Barrier = gate) -> bool:
            mine = BookingLedger(stack.bookings_table, boto3.client("dynamodb", endpoint_url=stack.endpoint))
            gate.wait()
            return mine.insert(entry, NOW, due_at=NOW) is None

        with ThreadPoolExecutor(contenders) as pool:
            written = list(pool.map(insert, range(contenders)))
        assert written.count(True) == 1, written


def test_only_one_of_two_takes_wins_and_a_lapsed_claim_can_be_taken_over(ledger: BookingLedger) -> None:
    entry, due = deferred(booking(), NOW)
    ledger.insert(entry, NOW, due_at=due)
    assert ledger.take(entry, NOW + 60, NOW, ())
    assert not ledger.take(entry, NOW + 60, NOW, ())  # the deferred state it read is gone
    claimed = ledger.get(entry.pk)
    assert claimed is not None and claimed.lease_alive(NOW + 59)
    assert not ledger.take(claimed, NOW + 120, NOW + 30, ())  # still held
    assert ledger.take(claimed, NOW + 121, NOW + 61, ())  # lapsed
    result = Result.for_booking(booking(), "created", "t")
    assert not ledger.finish(entry.pk, NOW + 60, State.ACTIVE, result, (), NOW + 62)  # the first claim lost it


def test_finish_stores_the_result_unpublished_and_points_each_task_at_its_booking(ledger: BookingLedger) -> None:
    b = booking()
    request = RecordTaskRequest("s", "d", "a", NOW + 10, NOW + 70)
    pk = booking_key(b.source, b.booking_id)
    assert ledger.insert(Entry(pk, State.CREATING, b, (request,), lease_until=NOW + 60), NOW) is None
    result = Result.for_booking(b, "created", "t", tasks=(_task("t-1"), _task("t-2")))
    assert ledger.finish(pk, NOW + 60, State.ACTIVE, result, result.tasks, NOW)
    done = ledger.get(pk)
    assert done is not None and done.state == State.ACTIVE and done.result("create") == result
    assert done.unpublished == "create" and [e.pk for e in ledger.due(NOW + 3600)] == [pk]
    for task_id in ("t-1", "t-2"):
        owner = ledger.owner(task_key(task_id))
        assert owner is not None and (owner[0].pk, owner[1]) == (pk, task_id)
    assert ledger.owner(task_key("t-unknown")) is None
    ledger.mark_published(pk, "create")
    published = ledger.get(pk)
    assert published is not None and published.unpublished is None and list(ledger.due(NOW + 3600)) == []


def test_cancel_only_applies_to_the_state_it_read(ledger: BookingLedger) -> None:
    entry, due = deferred(booking(), NOW)
    ledger.insert(entry, NOW, due_at=due)
    ledger.take(entry, NOW + 60, NOW, ())
    assert not ledger.cancel(entry, Result.for_booking(booking(), "cancelled", "t"), (), NOW)


# -- what a booking costs, counted through the whole decision ---------------------------------------------------


@pytest.fixture
def requests_made(stack: LocalStack) -> Counter[str]:
    """DynamoDB requests by operation, from every client built after this (and the stack's own)."""
    counts: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", count)
    stack.client("dynamodb").meta.events.register("before-call.dynamodb", count)
    return counts


def test_a_new_booking_costs_at_most_four_requests_and_a_duplicate_at_most_two(
    requests_made: Counter[str], app_factory: Any, emulator: Any, clock: Clock
) -> None:
    app = app_factory()  # its clients carry the counter
    now = int(clock.now)
    b = Booking("b-cost", "direct", start_time=now + HOUR, end_time=now + 2 * HOUR, stream=StreamFields("room"))
    assert app.decision.handle(b, now).primary.status == "created"
    created = sum(requests_made.values())
    requests_made.clear()
    assert app.decision.handle(b, now + 5).duplicate
    duplicate = sum(requests_made.values())
    # put claim, put the task's pointer, finish, mark published; the failed put
    assert (created, duplicate) == (4, 1), requests_made


def _task(task_id: str = "t-1") -> TaskRecord:
    return TaskRecord(task_id, "r-1", NOW + 10, NOW + 70, "s", "d", "a", "ap-singapore")
