"""Random sequences of bookings, cancellations and the passing of time over a few shared streams, on the
in-memory ledger and task API: the invariants of docs/contract.md "Streams" hold after every step."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st

from record_task.app import assemble
from record_task.config import Settings
from record_task.ledger.memory import MemoryLedger
from record_task.ledger.publisher import MemoryPublisher
from record_task.model.booking import Booking
from record_task.recordings.callbacks import RecordingFile
from tests.conftest import Clock
from tests.stream_checks import STEPS, Driver, Step, TimedTaskApi

NOW = 1_800_000_000
DAY = 86400
DOMAIN = "5000.live.push.com"


def model_of(padding: int) -> Driver:
    clock = Clock(NOW)
    config = Settings(default_domain_name=DOMAIN, lead_seconds=padding, tail_seconds=padding)
    api = TimedTaskApi(clock)
    publisher = MemoryPublisher()
    app = assemble(config, MemoryLedger(), publisher, api, clock=clock)
    return Driver(app, clock, padding, api.recording, lambda: publisher.results, inject=api.fail_later)


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


def test_a_file_on_a_shared_stream_is_reported_to_every_booking_it_recorded() -> None:
    model = model_of(300)
    model.book("studio-1", NOW + 600, NOW + 1800)  # b-0
    model.book("studio-1", NOW + 1800, NOW + 3000)  # b-1
    model.book("studio-1", NOW + 7200, NOW + 9000)  # b-2: later, not in the file
    first = min(model.recording(), key=lambda t: t.start)  # b-0's task
    file = RecordingFile(first.task_id, model.prefix + "studio-1", "f-1", "mp4", "https://v/f-1.mp4",
                         NOW + 1500, NOW + 2000, 500, 1, "")  # fmt: skip
    model.app.recordings.receive(file, NOW + 2100)
    model.app.recordings.receive(file, NOW + 2200)  # delivered again: nothing new
    recorded = [r for r in model.results() if r.status == "recorded"]
    assert sorted(str(r.booking_id) for r in recorded) == ["b-0", "b-1"]
    assert all(r.recording and r.recording["fileId"] == "f-1" for r in recorded)


def test_deferred_bookings_on_one_stream_activated_by_parallel_sweeps() -> None:
    model = model_of(300)
    far = NOW + 10 * DAY
    for number in range(8):  # back to back and overlapping, all beyond the horizon
        start = far + number * 1500
        assert model.book_deferred("studio-1", start, start + 1800) == "deferred"
    model.clock.now = far - 5 * DAY
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: model.app.sweeper.run(model.now, time_left=lambda: 600.0), range(4)))
    model.check()
    assert len(model.standing) == 8 and len(model.recording()) >= 8


def test_a_batch_of_ten_on_one_stream_in_threads_records_every_second_once() -> None:
    model = model_of(300)
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda n: model.book("studio-1", NOW + 600 + n * 1200, NOW + 1800 + n * 1200), range(10)))
    assert len(model.standing) == 10
    model.check()


def test_bookings_and_cancellations_on_one_stream_at_once() -> None:
    model = model_of(300)
    for n in range(6):
        model.book("studio-1", NOW + 600 + n * 1500, NOW + 2400 + n * 1500)

    def act(n: int) -> str:
        if n < 3:
            return model.cancel(f"b-{n * 2}")
        return model.book("studio-1", NOW + 1200 + n * 1700, NOW + 2400 + n * 1700)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(act, range(8)))
    assert outcomes[:3] == ["cancelled"] * 3 and outcomes[3:] == ["created"] * 5
    model.check()
