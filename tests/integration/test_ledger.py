"""The booking ledger on DynamoDB (moto server): conditional writes and the due index."""

from __future__ import annotations

from typing import Any

import pytest

from record_task.booking import Booking
from record_task.ledger import BookingLedger, Conflict, ledger_key
from record_task.plan import RecordTaskRequest
from record_task.results import Result, TaskRecord
from tools.local_aws import LocalStack

NOW = 1_800_000_000


class RecordingClient:
    """Passes calls through to DynamoDB and remembers which operations were made."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.operations: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.operations.append((name, kwargs))
            return method(**kwargs)

        return call


@pytest.fixture
def db(stack: LocalStack) -> RecordingClient:
    return RecordingClient(stack.client("dynamodb"))


@pytest.fixture
def ledger(stack: LocalStack, db: RecordingClient) -> BookingLedger:
    return BookingLedger(stack.bookings_table, db)  # type: ignore[arg-type]


def booking(booking_id: str = "b-1") -> Booking:
    return Booking(booking_id=booking_id, source="calcom", start_time=NOW + 30 * 86400, end_time=NOW + 30 * 86400 + 60)


def deferred(b: Booking) -> Result:
    return Result.for_booking(b, "deferred", "t", window=(b.start_time or 0, b.end_time or 0))


def test_due_query_finds_only_what_is_due_and_never_scans(ledger: BookingLedger, db: RecordingClient) -> None:
    for number, due_at in enumerate([NOW - 10, NOW, NOW + 10]):
        b = booking(f"b-{number}")
        ledger.defer(b, due_at, deferred(b))
    assert sorted(e.booking.booking_id for e in ledger.due(NOW)) == ["b-0", "b-1"]
    reads = [(name, kwargs) for name, kwargs in db.operations if name in ("query", "scan")]
    assert [name for name, _ in reads] == ["query"]
    assert reads[0][1]["IndexName"] == "due-index"


def test_due_query_pages_through_everything(ledger: BookingLedger) -> None:
    for number in range(25):
        b = booking(f"b-{number}")
        ledger.defer(b, NOW - number, deferred(b))
    assert len(list(ledger.due(NOW, page_size=7))) == 25


def test_a_booking_is_stored_once(ledger: BookingLedger) -> None:
    b = booking()
    ledger.defer(b, NOW, deferred(b))
    with pytest.raises(Conflict):
        ledger.defer(b, NOW, deferred(b))
    with pytest.raises(Conflict):
        ledger.tombstone(b, deferred(b))
    entry = ledger.get("calcom", "b-1")
    assert entry is not None and entry.state == "deferred" and entry.booking == b


def test_only_one_of_two_claims_wins(ledger: BookingLedger) -> None:
    b = booking()
    ledger.defer(b, NOW, deferred(b))
    entry = ledger.get("calcom", "b-1")
    assert entry is not None
    ledger.claim(entry, "first", NOW, NOW + 60)
    with pytest.raises(Conflict):
        ledger.claim(entry, "second", NOW, NOW + 60)
    # a lapsed claim can be taken over
    ledger.claim(entry, "third", NOW + 61, NOW + 120)
    with pytest.raises(Conflict):
        ledger.add_task(ledger_key("calcom", "b-1"), "first", _task())


def test_tasks_are_recorded_one_by_one_and_finish_leaves_the_index(ledger: BookingLedger) -> None:
    b = booking()
    request = RecordTaskRequest("s", "d", "a", NOW + 10, NOW + 70)
    ledger.claim_new(b, (request,), "me", NOW + 60)
    ledger.add_task(ledger_key("calcom", "b-1"), "me", _task())
    entry = ledger.get("calcom", "b-1")
    assert entry is not None and entry.state == "creating" and entry.tasks == (_task(),)
    assert entry.requests == (request,) and entry.lease_alive(NOW)
    result = Result.for_booking(b, "created", "t", tasks=(_task(),))
    ledger.finish(entry.pk, "me", "active", "create", result, tasks=(_task(),))
    done = ledger.get("calcom", "b-1")
    assert done is not None and done.state == "active" and done.result("create") == result


def test_cancel_only_applies_to_the_state_it_read(ledger: BookingLedger) -> None:
    b = booking()
    ledger.defer(b, NOW, deferred(b))
    entry = ledger.get("calcom", "b-1")
    assert entry is not None
    ledger.claim(entry, "sweep", NOW, NOW + 60)
    with pytest.raises(Conflict):
        ledger.cancel(entry, Result.for_booking(b, "cancelled", "t"), ())


def _task() -> TaskRecord:
    return TaskRecord("t-1", "r-1", NOW + 10, NOW + 70, "s", "d", "a", "ap-singapore")
