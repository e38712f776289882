"""Random sequences of bookings, cancellations and the passing of time over a few shared streams, on the
in-memory ledger and task API: the invariants of docs/contract.md "Streams" hold after every step."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from record_task.app import App, assemble
from record_task.config import Settings
from record_task.ledger.memory import MemoryLedger
from record_task.ledger.publisher import MemoryPublisher
from record_task.model.booking import Booking, StreamFields
from tests.conftest import Clock
from tests.stream_checks import Invariants, Standing, TimedTaskApi

NOW = 1_800_000_000
UNIT = 300  # five minutes
DOMAIN = "5000.live.push.com"
STREAMS = ("studio-1", "studio-2")

book = st.tuples(st.just("book"), st.sampled_from(STREAMS), st.integers(0, 36), st.integers(1, 12))
cancel = st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0), st.just(0))
wait = st.tuples(st.just("wait"), st.just(""), st.integers(1, 8), st.just(0))
steps = st.lists(st.one_of(book, book, cancel, wait), min_size=1, max_size=14)


class Model:
    """The function on its in-memory twins, and what the test knows stands."""

    def __init__(self, padding: int) -> None:
        self.clock = Clock(NOW)
        self.padding = padding
        config = Settings(default_domain_name=DOMAIN, lead_seconds=padding, tail_seconds=padding)
        self.api = TimedTaskApi(self.clock)
        self.publisher = MemoryPublisher()
        self.app: App = assemble(config, MemoryLedger(), self.publisher, self.api, clock=self.clock)
        self.standing: dict[str, Standing] = {}
        self.made: list[str] = []

    @property
    def now(self) -> int:
        return int(self.clock.now)

    def book(self, stream: str, start: int, end: int) -> str:
        booking_id = f"b-{len(self.made)}"
        self.made.append(booking_id)
        b = Booking(booking_id, "direct", start_time=start, end_time=end, stream=StreamFields(stream))
        result = self.app.decision.handle(b, self.now).primary
        if result.status == "created":
            key = ("ap-singapore", DOMAIN, "live", stream)
            padded = (start - self.padding, end + self.padding)
            self.standing[booking_id] = Standing(booking_id, key, (start, end), padded, self.now)
        return result.status

    def cancel(self, booking_id: str) -> str:
        result = self.app.decision.handle(Booking(booking_id, "direct", action="cancel"), self.now).primary
        if result.status in ("cancelled", "skipped"):
            self.standing.pop(booking_id, None)
        return result.status

    def check(self) -> None:
        standing = [b for b in self.standing.values() if b.padded[1] > self.now]
        Invariants(self.now, self.api.recording(), standing, self.publisher.results).check()

    def run(self, step: tuple[str, Any, int, int]) -> None:
        kind, what, a, b = step
        if kind == "book":
            self.book(what, NOW + a * UNIT, NOW + (a + b) * UNIT)
        elif kind == "cancel" and self.made:
            self.cancel(self.made[what % len(self.made)])
        elif kind == "wait":
            self.clock.advance(a * UNIT)
        self.check()


@settings(max_examples=60, deadline=None)
@given(steps=steps, padding=st.sampled_from([0, 300, 900]))
def test_every_step_keeps_one_recording_of_every_booked_second(
    steps: list[tuple[str, Any, int, int]], padding: int
) -> None:
    model = Model(padding)
    for step in steps:
        model.run(step)


def test_back_to_back_classes_share_the_stream_without_recording_twice() -> None:
    """10:00-11:00 and 11:00-12:00 with 300 s padding: 09:55-11:00 and 11:00-12:05, the first trimmed."""
    model = Model(300)
    hour = 3600
    assert model.book("studio-1", NOW + hour, NOW + 2 * hour) == "created"
    assert model.book("studio-1", NOW + 2 * hour, NOW + 3 * hour) == "created"
    live = sorted((t.start, t.end) for t in model.api.recording())
    assert live == [(NOW + hour - 300, NOW + 2 * hour), (NOW + 2 * hour, NOW + 3 * hour + 300)]
    updated = [r for r in model.publisher.results if r.status == "updated"]
    assert [r.booking_id for r in updated] == ["b-0"]
    # its own trimmed task, and b-1's, which records its tail now
    told = [(t.start_time, t.end_time, t.booking_id) for t in updated[0].tasks]
    assert told == [(NOW + hour - 300, NOW + 2 * hour, None), (NOW + 2 * hour, NOW + 3 * hour + 300, "b-1")]
    model.check()


def test_a_cancelled_neighbours_seconds_are_regrown_and_its_running_task_finishes_what_is_needed() -> None:
    model = Model(300)
    hour = 3600
    model.book("studio-1", NOW + hour, NOW + 2 * hour)
    model.book("studio-1", NOW + 2 * hour, NOW + 3 * hour)
    model.cancel("b-0")
    assert sorted((t.start, t.end) for t in model.api.recording()) == [(NOW + 2 * hour - 300, NOW + 3 * hour + 300)]
    model.check()
    model.book("studio-1", NOW + hour, NOW + 2 * hour)  # b-2 takes the first hour again; b-1's lead is trimmed
    model.clock.advance(2 * hour - 100)  # b-1's task is running now
    assert model.cancel("b-2") == "skipped"  # its task is over: nothing was left to end
    model.check()


def test_a_double_booked_second_goes_to_the_earlier_booking() -> None:
    model = Model(0)
    model.book("studio-1", NOW + 600, NOW + 1800)
    model.book("studio-1", NOW + 1200, NOW + 2400)
    live = sorted((t.start, t.end) for t in model.api.recording())
    assert live == [(NOW + 600, NOW + 1800), (NOW + 1800, NOW + 2400)]
    created = next(r for r in model.publisher.results if r.booking_id == "b-1" and r.status == "created")
    assert [(t.task_id in {x.task_id for x in created.tasks}) for t in model.api.recording()] == [True, True]
    assert {t.booking_id for t in created.tasks} == {"b-0", None}
    model.check()


def test_streams_never_affect_each_other() -> None:
    model = Model(300)
    model.book("studio-1", NOW + 600, NOW + 1800)
    model.book("studio-2", NOW + 600, NOW + 1800)
    assert len(model.api.recording()) == 2
    assert not [r for r in model.publisher.results if r.status == "updated"]


def test_each_booking_on_its_own_stream_by_default_costs_what_it_did() -> None:
    config = Settings(default_domain_name=DOMAIN)
    ledger = MemoryLedger()
    app = assemble(config, ledger, MemoryPublisher(), TimedTaskApi(Clock(NOW)), clock=Clock(NOW))
    for number in range(3):
        ledger.requests = 0
        b = Booking(f"b-{number}", "direct", start_time=NOW + 600, end_time=NOW + 1200)
        assert app.decision.handle(b, NOW).primary.status == "created"
        assert ledger.requests == 5

