"""What only DynamoDB shows (the shared behaviour is tests/contract/test_ledger_contract.py): the due
query is one indexed query that pages, a lost insert costs one request, and what a booking costs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest

from record_task.ledger.dynamodb import DynamoLedger
from record_task.ledger.items import Entry, State, booking_key
from record_task.model.booking import Booking, StreamFields
from record_task.model.results import Result, TaskRecord
from tests.conftest import Clock
from tools.local_aws import MotoStack

NOW = 1_800_000_000
HOUR = 3600


@pytest.fixture
def ledger(stack: MotoStack) -> DynamoLedger:
    return DynamoLedger(stack.bookings_table, stack.client("dynamodb"))


def booking(booking_id: str = "b-1") -> Booking:
    return Booking(booking_id=booking_id, source="calcom", start_time=NOW + 30 * 86400, end_time=NOW + 30 * 86400 + 60)


def deferred(b: Booking, due_at: int) -> tuple[Entry, int]:
    result = Result.for_booking(b, "deferred", NOW, window=(b.start_time or 0, b.end_time or 0))
    pk = booking_key(b.source, b.booking_id)
    return Entry(pk, State.DEFERRED, b, results={"create": result.to_message()}), due_at


def test_the_due_query_is_one_indexed_query_never_a_scan(ledger: DynamoLedger, requests_made: Counter[str]) -> None:
    for number in range(3):
        entry, due = deferred(booking(f"b-{number}"), NOW - number)
        ledger.insert(entry, NOW, due_at=due)
    requests_made.clear()
    assert len(list(ledger.due(NOW))) == 3
    assert requests_made == Counter({"Query": 1})


def test_due_query_pages_through_everything(ledger: DynamoLedger) -> None:
    for number in range(25):
        entry, due = deferred(booking(f"b-{number}"), NOW - number)
        ledger.insert(entry, NOW, due_at=due)
    assert len(list(ledger.due(NOW, page_size=7))) == 25


def test_an_item_is_written_once_and_the_loser_reads_the_winner_in_the_same_request(
    ledger: DynamoLedger, requests_made: Counter[str]
) -> None:
    entry, due = deferred(booking(), NOW)
    assert ledger.insert(entry, NOW, due_at=due) is None
    tombstone = Entry(entry.pk, State.CANCELLED, booking(), results={})
    requests_made.clear()
    winner = ledger.insert(tombstone, NOW)
    assert winner is not None and winner.state == State.DEFERRED and winner.booking == booking()
    assert requests_made == Counter({"PutItem": 1})


# -- what a booking costs, counted through the whole decision ---------------------------------------------------


@pytest.fixture
def requests_made(stack: MotoStack) -> Counter[str]:
    """DynamoDB requests by operation, from every client built after this (and the stack's own)."""
    counts: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", count)
    stack.client("dynamodb").meta.events.register("before-call.dynamodb", count)
    return counts


def test_a_new_booking_costs_at_most_five_requests_and_a_duplicate_one(
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
    # put claim, put the stream item (absent: no neighbour), put the task's pointer, finish, mark published;
    # the failed put
    assert (created, duplicate) == (5, 1), requests_made


def test_what_a_neighbour_costs(requests_made: Counter[str], app_factory: Any, emulator: Any, clock: Clock) -> None:
    """Measured, and held. A booking with a neighbour: claim, the stream item (its failed put), the holder's
    booking item, the stream claimed by version, the trimmed neighbour told (its item, its new task's
    pointer, the publish mark), the task ids written back, own pointer, finish, mark = 11. Cancelling it
    with a neighbour: the booking, the stream item, its holder, claim, the neighbour told (3), write back,
    cancel, mark = 10."""
    app = app_factory(RECORD_LEAD_SECONDS="300", RECORD_TAIL_SECONDS="300")
    now = int(clock.now)
    first = Booking("b-1", "direct", start_time=now + HOUR, end_time=now + 2 * HOUR, stream=StreamFields("studio"))
    second = Booking("b-2", "direct", start_time=now + 2 * HOUR, end_time=now + 3 * HOUR, stream=StreamFields("studio"))
    app.decision.handle(first, now)
    requests_made.clear()
    assert app.decision.handle(second, now).primary.status == "created"
    with_neighbour = sum(requests_made.values())
    requests_made.clear()
    assert app.decision.handle(Booking("b-1", "direct", action="cancel"), now).primary.status == "cancelled"
    cancel_with_neighbour = sum(requests_made.values())
    assert (with_neighbour, cancel_with_neighbour) == (11, 10), requests_made


def _task(task_id: str = "t-1") -> TaskRecord:
    return TaskRecord(task_id, "r-1", NOW + 10, NOW + 70, "s", "d", "a", "ap-singapore")
