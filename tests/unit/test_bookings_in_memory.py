"""The booking logic (decision, creation, cancellation, sweep, recordings) on the in-memory twins: no moto,
no HTTP, milliseconds a test. The same behaviour over DynamoDB and the emulator is tested in integration/."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from record_task.app import App, assemble
from record_task.config import Settings
from record_task.errors import OperatorError, TransientFailure
from record_task.ledger.items import Slot, State, booking_key, task_key
from record_task.ledger.memory import MemoryLedger
from record_task.ledger.publisher import MemoryPublisher
from record_task.model.booking import Booking, StreamFields
from record_task.recordings.callbacks import RecordingFile
from record_task.tencent.memory import MemoryTaskApi

NOW = 1_800_000_000
HOUR, DAY = 3600, 86400


@dataclass
class Twins:
    app: App
    ledger: MemoryLedger
    published: MemoryPublisher
    api: MemoryTaskApi

    def statuses(self) -> list[str]:
        return [result.status for result in self.published.results]


@pytest.fixture
def twins() -> Twins:
    ledger, published, api = MemoryLedger(), MemoryPublisher(), MemoryTaskApi()
    settings = Settings(default_domain_name="5000.live.push.com", claim_lease_seconds=60)
    return Twins(assemble(settings, ledger, published, api), ledger, published, api)


def booking(booking_id: str, start: int, end: int, action: str = "create") -> Booking:
    """A booking on a stream of its own (shared streams: tests/unit/test_stream_sequences.py)."""
    if action == "cancel":
        return Booking(booking_id, "direct", "cancel")
    stream = StreamFields(stream_name=f"room-{booking_id}")
    return Booking(booking_id, "direct", start_time=start, end_time=end, stream=stream)


def test_a_booking_is_created_once_and_costs_five_requests_a_duplicate_one(twins: Twins) -> None:
    b = booking("b-1", NOW + HOUR, NOW + 2 * HOUR)
    assert twins.app.decision.handle(b, NOW).primary.status == "created"
    assert twins.ledger.requests == 5  # put claim, put the stream, put task pointer, finish, mark published
    twins.ledger.requests = 0
    again = twins.app.decision.handle(b, NOW + 5)
    assert again.duplicate and twins.ledger.requests == 1
    assert twins.api.calls == ["CreateRecordTask"] and twins.statuses() == ["created"]


def test_a_window_longer_than_a_day_is_split_into_consecutive_tasks(twins: Twins) -> None:
    result = twins.app.decision.handle(booking("b-2", NOW + HOUR, NOW + HOUR + 30 * HOUR), NOW).primary
    assert [(t.start_time, t.end_time) for t in result.tasks] == [
        (NOW + HOUR, NOW + HOUR + DAY),
        (NOW + HOUR + DAY, NOW + HOUR + 30 * HOUR),
    ]


def test_a_far_booking_is_deferred_then_created_by_the_sweep_when_due(twins: Twins) -> None:
    start = NOW + 20 * DAY
    assert twins.app.decision.handle(booking("far", start, start + HOUR), NOW).primary.status == "deferred"
    assert twins.app.sweeper.run(NOW + DAY, lambda: 60.0)["created"] == 0 and twins.api.calls == []
    summary = twins.app.sweeper.run(start - 5 * DAY, lambda: 60.0)
    assert summary["created"] == 1 and twins.statuses() == ["deferred", "created"]
    assert twins.app.sweeper.run(start - 5 * DAY + 60, lambda: 60.0)["created"] == 0  # once


def test_cancel_deletes_a_task_not_started_and_stops_one_recording(twins: Twins) -> None:
    twins.app.decision.handle(booking("later", NOW + HOUR, NOW + 2 * HOUR), NOW)
    twins.app.decision.handle(booking("now", NOW + 10, NOW + HOUR), NOW)
    later = twins.app.decision.handle(booking("later", 0, 0, "cancel"), NOW + 60).primary
    running = twins.app.decision.handle(booking("now", 0, 0, "cancel"), NOW + 60).primary
    assert [t.operation for t in later.tasks] == ["deleted"] and [t.operation for t in running.tasks] == ["stopped"]
    assert {kept.state for kept in twins.api.tasks.values()} == {"deleted", "stopped"}


def test_a_cancel_before_the_booking_is_a_tombstone_that_skips_its_create(twins: Twins) -> None:
    assert twins.app.decision.handle(booking("t-1", 0, 0, "cancel"), NOW).primary.status == "skipped"
    late = twins.app.decision.handle(booking("t-1", NOW + HOUR, NOW + 2 * HOUR), NOW + 1).primary
    assert late.status == "skipped" and twins.api.calls == []


def test_a_rejection_is_remembered_by_content_and_a_corrected_body_is_judged_anew(twins: Twins) -> None:
    bad = booking("r-1", NOW + HOUR, NOW + HOUR)
    assert twins.app.decision.handle(bad, NOW).primary.status == "rejected"
    assert twins.app.decision.handle(bad, NOW + 1).duplicate
    assert twins.app.decision.handle(booking("r-1", NOW + HOUR, NOW + 2 * HOUR), NOW + 2).primary.status == "created"
    assert twins.statuses() == ["rejected", "created"]


def test_an_error_the_operator_must_fix_is_held_then_created_once_fixed(twins: Twins) -> None:
    b = booking("h-1", NOW + HOUR, NOW + 2 * HOUR)
    twins.api.fail_next("AuthFailure.SecretIdNotFound")
    with pytest.raises(OperatorError):
        twins.app.decision.handle(b, NOW)
    held = twins.ledger.get(booking_key("direct", "h-1"))
    assert held is not None and held.state == State.CREATING and held.held is not None
    assert twins.published.results == []  # nothing remembered as final, nothing said
    assert twins.app.decision.handle(b, NOW + 1).primary.status == "created"
    assert len(twins.api.live()) == 1


def test_a_lost_publish_is_sent_by_the_next_delivery_without_creating_again(twins: Twins) -> None:
    b = booking("p-1", NOW + HOUR, NOW + 2 * HOUR)

    class Down(MemoryPublisher):
        def publish(self, result: object) -> None:
            raise TransientFailure("SNS is down", code="PublishFailed")

    broken = assemble(twins.app.settings, twins.ledger, Down(), twins.api)
    with pytest.raises(TransientFailure):
        broken.decision.handle(b, NOW)
    retry = twins.app.decision.handle(b, NOW + 1)
    assert retry.primary.status == "created" and not retry.duplicate and twins.statuses() == ["created"]
    assert twins.api.calls == ["CreateRecordTask"]


def test_a_recording_file_is_reported_once_to_its_booking(twins: Twins) -> None:
    result = twins.app.decision.handle(booking("f-1", NOW + 10, NOW + HOUR), NOW).primary
    (task,) = result.tasks
    file = RecordingFile(task.task_id, "room-f-1", "file-1", "mp4", "https://v/1.mp4", NOW + 10, NOW + 600, 590, 1, "")
    said = twins.app.recordings.receive(file, NOW + 700)
    assert said is not None and said.status == "recorded" and said.booking_id == "f-1"
    assert twins.app.recordings.receive(file, NOW + 760) == said
    assert twins.statuses() == ["created", "recorded"]
    assert twins.ledger.owner(task_key(task.task_id)) is not None


def test_an_unreadable_due_item_is_skipped_and_the_others_swept(twins: Twins) -> None:
    for name in ("a", "b"):
        twins.app.decision.handle(booking(name, NOW + 20 * DAY, NOW + 20 * DAY + HOUR), NOW)
    twins.ledger.items[booking_key("direct", "a")]["state"] = "from-the-future"
    summary = twins.app.sweeper.run(NOW + 15 * DAY, lambda: 60.0)
    assert (summary["unreadable"], summary["created"]) == (1, 1)


def test_the_outbox_hands_the_right_to_publish_to_one_copy(twins: Twins) -> None:
    b = booking("o-1", NOW + HOUR, NOW + 2 * HOUR)
    twins.app.decision.handle(b, NOW)
    pk = booking_key("direct", "o-1")
    assert not twins.app.outbox.resend(pk, Slot("create"), twins.published.results[0], NOW + 999)  # published


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["x", "y", "z"]), st.booleans(), st.integers(0, 4)), max_size=12))
def test_every_standing_booking_has_exactly_its_tasks_whatever_the_order(steps: list[tuple[str, bool, int]]) -> None:
    """Creates, cancels and repeats in any order: a standing booking has one live task, a cancelled none."""
    ledger, published, api = MemoryLedger(), MemoryPublisher(), MemoryTaskApi()
    app = assemble(Settings(default_domain_name="d"), ledger, published, api)
    cancelled: set[str] = set()
    created: set[str] = set()
    for step, (name, cancel, minutes) in enumerate(steps):
        now = NOW + step
        b = booking(name, NOW + HOUR + minutes * 60, NOW + 2 * HOUR)
        app.decision.handle(booking(name, 0, 0, "cancel") if cancel else b, now)
        if cancel:
            cancelled.add(name)
        elif name not in cancelled and name not in created:
            created.add(name)
    assert sorted(info.stream_name for info in api.live()) == sorted(f"room-{name}" for name in created - cancelled)
