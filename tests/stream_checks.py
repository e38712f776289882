"""The invariants of docs/contract.md "Streams", checked against a task API's own task list (the in-memory
twin or the emulator), the bookings a test knows to stand, and the results published."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

from record_task.bookings.streams import subtract
from record_task.errors import TransientFailure
from record_task.model.booking import Booking, StreamFields
from record_task.model.results import Result
from record_task.tencent.memory import MemoryTaskApi
from tests.conftest import Clock

Stream = tuple[str, str, str, str]  # region, domain, app, name
Step = tuple[str, str | int, int, int]
DOMAIN = "5000.live.push.com"
UNIT = 300  # five minutes
STREAMS = ("studio-1", "studio-2")
_book = st.tuples(st.just("book"), st.sampled_from(STREAMS), st.integers(0, 36), st.integers(1, 12))
_cancel = st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0), st.just(0))
_wait = st.tuples(st.just("wait"), st.just(""), st.integers(1, 8), st.just(0))
_fault = st.tuples(st.just("fault"), st.just(""), st.integers(0, 6), st.just(0))  # the n-th call fails once
STEPS = st.lists(st.one_of(_book, _book, _cancel, _wait, _fault), min_size=1, max_size=14)


@dataclass(frozen=True)
class Task:
    """A task as it records: a stopped one up to its stop."""

    task_id: str
    stream: Stream
    start: int
    end: int


@dataclass(frozen=True)
class Standing:
    booking_id: str
    stream: Stream
    booked: tuple[int, int]
    padded: tuple[int, int]
    made_at: int

    @property
    def needed(self) -> tuple[int, int]:
        return max(self.padded[0], self.made_at), self.padded[1]


class TimedTaskApi(MemoryTaskApi):
    """The in-memory twin, noting when each task was stopped (the twin itself keeps no clock), and able to
    fail the n-th call from now once."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__()
        self.clock = clock
        self.stopped_at: dict[str, int] = {}
        self.countdown: int | None = None

    def fail_later(self, calls: int) -> None:
        self.countdown = calls

    def _enter(self, action: str) -> None:
        if self.countdown is not None:
            self.countdown -= 1
            if self.countdown < 0:
                self.countdown = None
                self.fail_next("InternalError")
        super()._enter(action)

    def stop_record_task(self, task_id: str, region: str) -> str:
        answer = super().stop_record_task(task_id, region)
        self.stopped_at[task_id] = int(self.clock())
        return answer

    def recording(self) -> list[Task]:
        return [
            Task(k.info.task_id, (k.region, k.info.domain_name, k.info.app_name, k.info.stream_name),
                 k.info.start_time, min(k.info.end_time, self.stopped_at.get(k.info.task_id, k.info.end_time)))
            for k in self.tasks.values() if k.state != "deleted"
        ]  # fmt: skip


def emulator_recording(tasks: Iterable[dict[str, Any]]) -> list[Task]:
    """The emulator's tasks that record: not deleted (a task deleted while running records on, so it counts)."""
    return [
        Task(t["TaskId"], (t["Region"], t["DomainName"], t["AppName"], t["StreamName"]), t["StartTime"],
             t["Stopped"] if t["Status"] == "stopped" else t["EndTime"])
        for t in tasks if t["Status"] != "deleted"
    ]  # fmt: skip


class Driver:
    """Drives a wired function step by step and checks the invariants after each, knowing what stands."""

    def __init__(
        self, app: Any, clock: Clock, padding: int, recording: Callable[[], list[Task]],
        results: Callable[[], list[Result]], prefix: str = "", inject: Callable[[int], None] | None = None,
    ) -> None:  # fmt: skip
        self.app = app
        self.clock = clock
        self.padding = padding
        self.recording = recording
        self.results = results
        self.prefix = prefix
        self.inject = inject
        self.standing: dict[str, Standing] = {}
        self.made: list[str] = []
        self._numbers = itertools.count()
        self.deferred: dict[str, tuple[str, int, int]] = {}

    @property
    def now(self) -> int:
        return int(self.clock.now)

    def book(self, stream: str, start: int, end: int) -> str:
        booking_id = f"{self.prefix}b-{next(self._numbers)}"  # one number per booking, whatever the thread
        self.made.append(booking_id)
        stream = self.prefix + stream
        b = Booking(booking_id, "direct", start_time=start, end_time=end, stream=StreamFields(stream))
        result = self.deliver(b)
        if result.status == "created":
            key = ("ap-singapore", DOMAIN, "live", stream)
            padded = (start - self.padding, end + self.padding)
            self.standing[booking_id] = Standing(booking_id, key, (start, end), padded, self.now)
        return str(result.status)

    def book_deferred(self, stream: str, start: int, end: int) -> str:
        """A booking beyond the horizon: it stands once the sweep made its tasks (a `created` result)."""
        status = self.book(stream, start, end)
        self.deferred[self.made[-1]] = (self.prefix + stream, start, end)
        return status

    def deliver(self, booking: Booking) -> Result:
        """As SQS would: a transient failure is delivered again."""
        for _ in range(3):
            try:
                return self.app.decision.handle(booking, self.now).primary  # type: ignore[no-any-return]
            except TransientFailure:
                continue
        raise AssertionError(f"{booking.booking_id} kept failing")

    def cancel(self, booking_id: str) -> str:
        result = self.deliver(Booking(booking_id, "direct", action="cancel"))
        if result.status in ("cancelled", "skipped"):
            self.standing.pop(booking_id, None)
        return str(result.status)

    def check(self) -> None:
        for result in self.results():  # deferred bookings activated since
            waiting = self.deferred.pop(str(result.booking_id), None) if result.status == "created" else None
            if waiting is not None:
                stream, start, end = waiting
                made_at = int(datetime.fromisoformat(result.received_at).timestamp())
                padded = (start - self.padding, end + self.padding)
                key = ("ap-singapore", DOMAIN, "live", stream)
                self.standing[str(result.booking_id)] = Standing(
                    str(result.booking_id), key, (start, end), padded, made_at
                )
        standing = [b for b in self.standing.values() if b.padded[1] > self.now]
        Invariants(self.now, self.recording(), standing, self.results()).check()

    def run(self, step: Step, base: int) -> None:
        kind, what, a, b = step
        if kind == "book":
            self.book(str(what), base + a * UNIT, base + (a + b) * UNIT)
        elif kind == "cancel" and self.made:
            self.cancel(self.made[int(what) % len(self.made)])
        elif kind == "fault" and self.inject is not None:
            self.inject(a)
        elif kind == "wait":
            self.clock.advance(a * UNIT)
        self.check()


@dataclass
class Invariants:
    now: int
    tasks: list[Task]
    standing: list[Standing]
    results: list[Result] = field(default_factory=list)

    def check(self) -> None:
        by_stream: dict[Stream, list[Task]] = defaultdict(list)
        for task in self.tasks:
            if task.end > task.start:
                by_stream[task.stream].append(task)
        for stream, tasks in by_stream.items():
            ordered = sorted(tasks, key=lambda t: t.start)
            for earlier, later in pairwise(ordered):
                assert later.start >= earlier.end, f"two recordings of {stream}: {earlier} and {later}"
        for booking in self.standing:
            spans = [(t.start, t.end) for t in by_stream[booking.stream]]
            missed = subtract([booking.needed], spans)
            assert not missed, f"{booking.booking_id}: seconds {missed} recorded by no task"
        for stream, tasks in by_stream.items():
            windows = [b.padded for b in self.standing if b.stream == stream]
            for task in tasks:
                if task.start > self.now:
                    unbooked = subtract([(task.start, task.end)], windows)
                    assert not unbooked, f"{task} would record {unbooked}, which no standing booking holds"
        self.check_results(by_stream)

    def check_results(self, by_stream: dict[Stream, list[Task]]) -> None:
        """Each standing booking's last `created` or `updated` result names every task recording its window."""
        latest: dict[str | None, Result] = {}
        for result in self.results:
            if result.status in ("created", "updated"):
                latest[result.booking_id] = result
        for booking in self.standing:
            told = latest.get(booking.booking_id)
            assert told is not None, f"{booking.booking_id} was never told its tasks"
            named = {t.task_id for t in told.tasks}
            lo, hi = booking.needed
            recording = {t.task_id for t in by_stream[booking.stream] if t.start < hi and lo < t.end}
            assert recording <= named, f"{booking.booking_id} was not told of {recording - named} ({told.status})"
