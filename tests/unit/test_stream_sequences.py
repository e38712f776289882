"""Random sequences of bookings, cancellations and the passing of time over a few shared streams, on the
in-memory ledger and task API: the invariants of docs/contract.md "Streams" hold after every step."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from record_task.app import assemble
from record_task.config import Settings
from record_task.ledger.memory import MemoryLedger
from record_task.ledger.publisher import MemoryPublisher
from record_task.model.booking import Booking
from tests.conftest import Clock
from tests.stream_checks import STEPS, Driver, Step, TimedTaskApi

NOW = 1_800_000_000
DOMAIN = "5000.live.push.com"


def model_of(padding: int) -> Driver:
    clock = Clock(NOW)
    config = Settings(default_domain_name=DOMAIN, lead_seconds=padding, tail_seconds=padding)
    api = TimedTaskApi(clock)
    publisher = MemoryPublisher()
    app = assemble(config, MemoryLedger(), publisher, api, clock=clock)
    return Driver(app, clock, padding, api.recording, lambda: publisher.results)


@settings(max_examples=60, deadline=None)
@given(steps=STEPS, padding=st.sampled_from([0, 300, 900]))
def test_every_step_keeps_one_recording_of_every_booked_second(steps: list[Step], padding: int) -> None:
    model = model_of(padding)
    for step in steps:
        model.run(step, NOW)


def test_back_to_back_classes_share_the_stream_without_recording_twice() -> None:
    """10:00-11:00 and 11:00-12:00 with 300 s padding: 09:55-11:00 and 11:00-12:05, the first trimmed."""
    model = model_of(300)
    hour = 3600
    assert model.book("studio-1", NOW + hour, NOW + 2 * hour) == "created"
    assert model.book("studio-1", NOW + 2 * hour, NOW + 3 * hour) == "created"
    live = sorted((t.start, t.end) for t in model.recording())
    assert live == [(NOW + hour - 300, NOW + 2 * hour), (NOW + 2 * hour, NOW + 3 * hour + 300)]
    updated = [r for r in model.results() if r.status == "updated"]
    assert [r.booking_id for r in updated] == ["b-0"]
    # its own trimmed task, and b-1's, which records its tail now
    told = [(t.start_time, t.end_time, t.booking_id) for t in updated[0].tasks]
    assert told == [(NOW + hour - 300, NOW + 2 * hour, None), (NOW + 2 * hour, NOW + 3 * hour + 300, "b-1")]
    model.check()


def test_a_cancelled_neighbours_seconds_are_regrown_and_its_running_task_finishes_what_is_needed() -> None:
    model = model_of(300)
    hour = 3600
    model.book("studio-1", NOW + hour, NOW + 2 * hour)
    model.book("studio-1", NOW + 2 * hour, NOW + 3 * hour)
    model.cancel("b-0")
    assert sorted((t.start, t.end) for t in model.recording()) == [(NOW + 2 * hour - 300, NOW + 3 * hour + 300)]
    model.check()
    model.book("studio-1", NOW + hour, NOW + 2 * hour)  # b-2 takes the first hour again; b-1's lead is trimmed
    model.clock.advance(2 * hour - 100)  # b-1's task is running now
    assert model.cancel("b-2") == "skipped"  # its task is over: nothing was left to end
    model.check()


def test_a_double_booked_second_goes_to_the_earlier_booking() -> None:
    model = model_of(0)
    model.book("studio-1", NOW + 600, NOW + 1800)
    model.book("studio-1", NOW + 1200, NOW + 2400)
    live = sorted((t.start, t.end) for t in model.recording())
    assert live == [(NOW + 600, NOW + 1800), (NOW + 1800, NOW + 2400)]
    created = next(r for r in model.results() if r.booking_id == "b-1" and r.status == "created")
    assert [(t.task_id in {x.task_id for x in created.tasks}) for t in model.recording()] == [True, True]
    assert {t.booking_id for t in created.tasks} == {"b-0", None}
    model.check()


def test_streams_never_affect_each_other() -> None:
    model = model_of(300)
    model.book("studio-1", NOW + 600, NOW + 1800)
    model.book("studio-2", NOW + 600, NOW + 1800)
    assert len(model.recording()) == 2
    assert not [r for r in model.results() if r.status == "updated"]


def test_each_booking_on_its_own_stream_by_default_costs_what_it_did() -> None:
    config = Settings(default_domain_name=DOMAIN)
    ledger = MemoryLedger()
    app = assemble(config, ledger, MemoryPublisher(), TimedTaskApi(Clock(NOW)), clock=Clock(NOW))
    for number in range(3):
        ledger.requests = 0
        b = Booking(f"b-{number}", "direct", start_time=NOW + 600, end_time=NOW + 1200)
        assert app.decision.handle(b, NOW).primary.status == "created"
        assert ledger.requests == 5
