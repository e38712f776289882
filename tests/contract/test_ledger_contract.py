"""One set of ledger tests, run on both implementations (DynamoDB on the moto server, and in memory), so
the fast twin the booking logic's unit tests use cannot drift from the table Lambda writes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from record_task.ledger.dynamodb import DynamoLedger
from record_task.ledger.items import Entry, Slot, State, Unreadable, booking_key, session_key, task_key
from record_task.ledger.memory import MemoryLedger
from record_task.ledger.store import Ledger
from record_task.ledger.streams import StreamState
from record_task.model.booking import Booking
from record_task.model.results import Result, TaskRecord
from record_task.model.streams import Segment, StreamBooking, stream_key
from record_task.model.tasks import RecordTaskRequest

NOW = 1_800_000_000
CREATE, CANCEL = Slot("create"), Slot("cancel")


@pytest.fixture(params=["dynamodb", "memory"])
def make_ledger(request: pytest.FixtureRequest) -> Callable[[], Ledger]:
    """A factory of ledgers over one store: each call is another client (another Lambda) on the same table."""
    if request.param == "memory":
        shared = MemoryLedger()
        return lambda: shared
    stack = request.getfixturevalue("stack")
    return lambda: DynamoLedger(stack.bookings_table, stack.client("dynamodb"))


@pytest.fixture
def ledger(make_ledger: Callable[[], Ledger]) -> Ledger:
    return make_ledger()


def booking(booking_id: str = "b-1") -> Booking:
    return Booking(booking_id=booking_id, source="calcom", start_time=NOW + 30 * 86400, end_time=NOW + 30 * 86400 + 60)


def deferred(b: Booking) -> Entry:
    result = Result.for_booking(b, "deferred", NOW, window=(b.start_time or 0, b.end_time or 0))
    return Entry(booking_key(b.source, b.booking_id), State.DEFERRED, b, results={"create": result.to_message()})


def task(task_id: str = "t-1") -> TaskRecord:
    return TaskRecord(task_id, "r-1", NOW + 10, NOW + 70, "s", "d", "a", "ap-singapore")


def test_a_written_item_reads_back_as_it_was_written(ledger: Ledger) -> None:
    entry = deferred(booking())
    assert ledger.get(entry.pk) is None
    assert ledger.insert(entry, NOW, due_at=NOW) is None
    assert ledger.get(entry.pk) == entry


def test_the_due_query_finds_what_is_due_earliest_first(ledger: Ledger) -> None:
    for number, due_at in enumerate([NOW + 5, NOW - 10, NOW + 10, NOW]):
        assert ledger.insert(deferred(booking(f"b-{number}")), NOW, due_at=due_at) is None
    assert [e.booking.booking_id for e in ledger.due(NOW) if isinstance(e, Entry) and e.booking] == ["b-1", "b-3"]


def test_an_item_is_written_once_and_the_loser_reads_the_winner(ledger: Ledger) -> None:
    entry = deferred(booking())
    assert ledger.insert(entry, NOW, due_at=NOW) is None
    winner = ledger.insert(Entry(entry.pk, State.CANCELLED, booking()), NOW)
    assert winner == entry


def test_of_concurrent_inserts_of_one_booking_exactly_one_is_written(make_ledger: Callable[[], Ledger]) -> None:
    contenders = 8
    for round_number in range(3):
        entry, gate = deferred(booking(f"race-{round_number}")), threading.Barrier(contenders)

        def insert(_: int, entry: Entry = entry, gate: threading.Barrier = gate) -> bool:
            mine = make_ledger()
            gate.wait()
            return mine.insert(entry, NOW, due_at=NOW) is None

        with ThreadPoolExecutor(contenders) as pool:
            assert list(pool.map(insert, range(contenders))).count(True) == 1


def test_only_one_of_two_takes_wins_and_a_lapsed_claim_can_be_taken_over(ledger: Ledger) -> None:
    entry = deferred(booking())
    ledger.insert(entry, NOW, due_at=NOW)
    assert ledger.take(entry, NOW + 60, NOW, ())
    assert not ledger.take(entry, NOW + 60, NOW, ())  # the deferred state it read is gone
    claimed = ledger.get(entry.pk)
    assert claimed is not None and claimed.lease_alive(NOW + 59) and not claimed.lease_alive(NOW + 60)
    assert not ledger.take(claimed, NOW + 120, NOW + 30, ())  # still held
    assert ledger.take(claimed, NOW + 121, NOW + 61, ())  # lapsed
    result = Result.for_booking(booking(), "created", NOW)
    assert not ledger.finish(entry.pk, NOW + 60, State.ACTIVE, result, (), NOW + 62)  # the first claim lost it
    assert ledger.finish(entry.pk, NOW + 121, State.ACTIVE, result, (), NOW + 62)


def test_a_released_claim_may_be_taken_at_once_and_keeps_what_the_operator_must_fix(ledger: Ledger) -> None:
    b = booking()
    request = RecordTaskRequest("s", "d", "a", NOW + 10, NOW + 70)
    entry = Entry(booking_key(b.source, b.booking_id), State.CREATING, b, (request,), lease_until=NOW + 60)
    ledger.insert(entry, NOW)
    ledger.release(entry.pk, NOW + 999)  # not our claim: nothing changes
    assert (kept := ledger.get(entry.pk)) is not None and kept.lease_until == NOW + 60 and kept.held is None
    held = {"code": "AuthFailure.SecretIdNotFound", "message": "m", "field": None}
    ledger.release(entry.pk, NOW + 60, held)
    released = ledger.get(entry.pk)
    assert released is not None and released.lease_until == 0 and released.held == held
    assert released.requests == (request,)
    assert ledger.take(released, NOW + 70, NOW + 1, (request,))
    ledger.finish(entry.pk, NOW + 70, State.ACTIVE, Result.for_booking(b, "created", NOW), (), NOW + 1)
    assert (done := ledger.get(entry.pk)) is not None and done.held is None


def test_finish_stores_the_result_unpublished_and_points_each_task_at_its_booking(ledger: Ledger) -> None:
    b = booking()
    pk = booking_key(b.source, b.booking_id)
    request = RecordTaskRequest("s", "d", "a", NOW + 10, NOW + 70)
    assert ledger.insert(Entry(pk, State.CREATING, b, (request,), lease_until=NOW + 60), NOW) is None
    result = Result.for_booking(b, "created", NOW, tasks=(task("t-1"), task("t-2")))
    assert ledger.finish(pk, NOW + 60, State.ACTIVE, result, result.tasks, NOW)
    done = ledger.get(pk)
    assert done is not None and done.state == State.ACTIVE and done.result("create") == result
    assert done.tasks == result.tasks and done.unpublished == "create"
    assert [e.pk for e in ledger.due(NOW + 3600)] == [pk]
    for task_id in ("t-1", "t-2"):
        owner = ledger.owner(task_key(task_id))
        assert owner is not None and (owner[0].pk, owner[1]) == (pk, task_id)
    assert ledger.owner(task_key("t-unknown")) is None
    ledger.mark_published(pk, CREATE)
    published = ledger.get(pk)
    assert published is not None and published.unpublished is None and list(ledger.due(NOW + 3600)) == []


def test_the_right_to_publish_goes_to_one_copy_until_it_is_handed_back(ledger: Ledger) -> None:
    b = booking()
    pk = booking_key(b.source, b.booking_id)
    ledger.insert(Entry(pk, State.CANCELLED, b, results={}, unpublished="cancel"), NOW)
    assert not ledger.take_publish(pk, CANCEL, NOW)  # the inserting invocation holds it for the grace period
    assert not ledger.take_publish(pk, CREATE, NOW + 1000)  # not what is unpublished
    assert ledger.take_publish(pk, CANCEL, NOW + 1000)
    assert not ledger.take_publish(pk, CANCEL, NOW + 1000)
    ledger.release_publish(pk, CANCEL)
    assert ledger.take_publish(pk, CANCEL, NOW + 1000)
    ledger.mark_published(pk, CANCEL, still_due=True)
    assert not ledger.take_publish(pk, CANCEL, NOW + 5000)


def test_a_deferred_booking_marked_published_stays_due(ledger: Ledger) -> None:
    entry = deferred(booking())
    ledger.insert(Entry(entry.pk, entry.state, entry.booking, results=entry.results, unpublished="create"), NOW,
                  due_at=NOW + 50)  # fmt: skip
    ledger.mark_published(entry.pk, CREATE, still_due=True)
    assert [e.pk for e in ledger.due(NOW + 50)] == [entry.pk]


def test_cancel_only_applies_to_the_state_it_read(ledger: Ledger) -> None:
    entry = deferred(booking())
    ledger.insert(entry, NOW, due_at=NOW)
    ledger.take(entry, NOW + 60, NOW, ())
    assert not ledger.cancel(entry, Result.for_booking(booking(), "cancelled", NOW), (), NOW)
    claimed = ledger.get(entry.pk)
    assert claimed is not None and claimed.state == State.CREATING


def test_a_recording_is_kept_once_and_published_once(ledger: Ledger) -> None:
    b = booking()
    pk = booking_key(b.source, b.booking_id)
    ledger.insert(Entry(pk, State.CANCELLED, b), NOW)
    ledger.link(session_key("s-1"), pk, "t-1", NOW)
    owner = ledger.owner(session_key("s-1"))
    assert owner is not None and owner[1] == "t-1"
    said = Result("recorded", b.booking_id, "record", "tencent", received_at="x")
    assert ledger.add_recording(pk, "file|t-1|f-1", said, None, NOW) is None
    again = ledger.add_recording(pk, "file|t-1|f-1", said, None, NOW + 1)
    assert again is not None and again.recorded("file|t-1|f-1") == (said, False)
    slot = Slot("file|t-1|f-1", recording=True)
    assert not ledger.take_publish(pk, slot, NOW)  # the keeper publishes first
    assert ledger.take_publish(pk, slot, NOW + 60)
    ledger.mark_published(pk, slot)
    kept = ledger.get(pk)
    assert kept is not None and kept.recorded("file|t-1|f-1") == (said, True)
    assert not ledger.take_publish(pk, slot, NOW + 600)


def test_an_item_written_by_a_newer_version_is_read_ignoring_what_it_does_not_know(ledger: Ledger) -> None:
    entry = deferred(booking())
    ledger.insert(entry, NOW, due_at=NOW)
    if isinstance(ledger, MemoryLedger):
        ledger.items[entry.pk]["streamSlot"] = {"future": 1}
        ledger.items[entry.pk]["booking"]["colour"] = "red"
        ledger.items[entry.pk]["booking"]["stream"]["zone"] = "b"
    else:
        ledger._db.update_item(  # type: ignore[attr-defined]
            TableName=ledger._table,  # type: ignore[attr-defined]
            Key={"pk": {"S": entry.pk}},
            UpdateExpression="SET streamSlot = :s, booking.colour = :c, booking.#st.#z = :z",
            ExpressionAttributeNames={"#z": "zone", "#st": "stream"},
            ExpressionAttributeValues={":s": {"M": {"future": {"N": "1"}}}, ":c": {"S": "red"}, ":z": {"S": "b"}},
        )
    assert ledger.get(entry.pk) == entry


def test_a_due_item_that_cannot_be_read_is_named_not_raised(ledger: Ledger) -> None:
    good, bad = deferred(booking("good")), deferred(booking("bad"))
    ledger.insert(good, NOW, due_at=NOW - 5)
    ledger.insert(bad, NOW, due_at=NOW - 10)
    if isinstance(ledger, MemoryLedger):
        ledger.items[bad.pk]["state"] = "teleported"
    else:
        ledger._db.update_item(  # type: ignore[attr-defined]
            TableName=ledger._table,  # type: ignore[attr-defined]
            Key={"pk": {"S": bad.pk}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":s": {"S": "teleported"}},
        )
    found = list(ledger.due(NOW))
    assert [type(item).__name__ for item in found] == ["Unreadable", "Entry"]
    assert isinstance(found[0], Unreadable) and found[0].pk == bad.pk and "teleported" in found[0].error


# -- streams (docs/contract.md, "Streams") ----------------------------------------------------------------


def stream_state(version: int, *owners: str) -> StreamState:
    request = RecordTaskRequest("studio", "d", "live", 0, 0, region="ap-singapore")
    bookings = tuple(
        StreamBooking(pk, pk.split("#")[1], (NOW + 600, NOW + 1200), (NOW + 300, NOW + 1500), request) for pk in owners
    )
    segments = tuple(Segment(NOW + 300, NOW + 1500, pk, None if n == 0 else f"t-{n}") for n, pk in enumerate(owners))
    return StreamState(stream_key(request), version, bookings, segments, owners[0] if owners else None, NOW + 120)


def test_a_stream_item_is_put_once_and_the_loser_reads_it_in_the_same_request(ledger: Ledger) -> None:
    first = stream_state(1, "calcom#b-1")
    assert ledger.get_stream(first.pk) is None
    assert ledger.write_stream(first, 0) is None
    assert ledger.get_stream(first.pk) == first
    assert ledger.write_stream(stream_state(1, "calcom#b-2"), 0) == first


def test_a_stream_item_changes_only_from_the_version_read(ledger: Ledger) -> None:
    first = stream_state(1, "calcom#b-1")
    assert ledger.write_stream(stream_state(1, "calcom#b-1"), 5) == StreamState(first.pk)  # nothing there yet
    ledger.write_stream(first, 0)
    second = stream_state(2, "calcom#b-1", "calcom#b-2")
    assert ledger.write_stream(second, 1) is None
    assert ledger.write_stream(stream_state(2, "calcom#b-3"), 1) == second
    assert ledger.get_stream(first.pk) == second


def test_of_concurrent_stream_writes_from_one_version_exactly_one_wins(make_ledger: Callable[[], Ledger]) -> None:
    make_ledger().write_stream(stream_state(1, "calcom#b-0"), 0)
    attempts = [stream_state(2, "calcom#b-0", f"calcom#b-{n}") for n in range(1, 9)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        lost = list(pool.map(lambda s: make_ledger().write_stream(s, 1), attempts))
    assert sum(1 for outcome in lost if outcome is None) == 1


def test_update_tasks_changes_an_active_booking_only_and_leaves_the_result_to_publish(ledger: Ledger) -> None:
    b = booking()
    pk = booking_key(b.source, b.booking_id)
    ledger.insert(Entry(pk, State.CREATING, b, lease_until=NOW + 60), NOW)
    updated = Result.for_booking(b, "updated", NOW, tasks=(task("t-2"),))
    assert not ledger.update_tasks(pk, updated, (task("t-2"),), NOW)
    created = Result.for_booking(b, "created", NOW, tasks=(task(),))
    ledger.finish(pk, NOW + 60, State.ACTIVE, created, (task(), replace(task("t-9"), booking_id="b-9")), NOW)
    assert ledger.owner(task_key("t-9")) is None  # a neighbour's task points at the neighbour, not here
    assert ledger.update_tasks(pk, updated, (task("t-2"),), NOW)
    entry = ledger.get(pk)
    assert entry is not None and entry.tasks == (task("t-2"),) and entry.result("update") == updated
    assert entry.unpublished == "update" and [e.pk for e in ledger.due(NOW + 3600)] == [pk]
