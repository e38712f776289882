"""The stream planner alone (pure): each second still ahead that a standing booking holds is recorded by
exactly one task; a task not started records nothing else; planning again changes nothing."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from record_task.bookings.streams import MAX_TASK_SECONDS, StreamPlan, owner_at, plan_stream, subtract, union
from record_task.model.streams import Segment, StreamBooking
from record_task.model.tasks import RecordTaskRequest

NOW = 1_800_000_000
REQUEST = RecordTaskRequest("studio-1", "d", "live", 0, 0)


def standing(pk: str, start: int, end: int, padding: int) -> StreamBooking:
    return StreamBooking(pk, pk, (start, end), (start - padding, end + padding), REQUEST)


windows = st.tuples(st.integers(-20, 60), st.integers(1, 30)).map(
    lambda w: (NOW + w[0] * 300, NOW + (w[0] + w[1]) * 300)
)
bookings = st.lists(windows, max_size=6).flatmap(
    lambda ws: st.sampled_from([0, 300, 1200]).map(
        lambda pad: [standing(f"b-{n}", s, e, pad) for n, (s, e) in enumerate(ws)]
    )
)


def made(plan: StreamPlan) -> tuple[Segment, ...]:
    """The plan carried out: every new segment has its task."""
    return tuple(s if s.task_id else replace(s, task_id=f"t-{s.start}-{s.owner}") for s in plan.segments)


def check(plan: StreamPlan, booked: list[StreamBooking], now: int) -> None:
    live = sorted((s for s in plan.segments if s.end > s.start), key=lambda s: s.start)
    for earlier, later in pairwise(live):
        assert later.start >= earlier.end
    assert all(s.end - s.start <= MAX_TASK_SECONDS for s in live)
    needed = union((max(b.padded[0], now), b.padded[1]) for b in booked if b.padded[1] > now)
    assert not subtract(needed, [(s.start, s.end) for s in live])
    waiting = [(s.start, s.end) for s in live if s.start > now]
    assert not subtract(waiting, [b.padded for b in booked])


@settings(max_examples=200, deadline=None)
@given(first=bookings, later=st.integers(0, 40), cancelled=st.integers(0, 5))
def test_each_needed_second_once_across_a_booking_the_passing_of_time_and_a_cancellation(
    first: list[StreamBooking], later: int, cancelled: int
) -> None:
    plan = plan_stream(first, (), NOW)
    check(plan, first, NOW)
    again = plan_stream(first, made(plan), NOW)
    assert (again.create, again.delete, again.stop) == ((), (), ())
    now = NOW + later * 300
    rest = [b for n, b in enumerate(first) if n != cancelled]
    after = plan_stream(rest, made(plan), now)
    check(after, rest, now)
    assert {s.task_id for s in after.delete} <= {s.task_id for s in made(plan) if s.start > now}
    assert {s.task_id for s in after.stop} <= {s.task_id for s in made(plan) if s.start <= now < s.end}


def test_back_to_back_classes_trim_the_padding_between_them() -> None:
    hour = 3600
    ten, eleven = standing("a", NOW + hour, NOW + 2 * hour, 300), standing("b", NOW + 2 * hour, NOW + 3 * hour, 300)
    plan = plan_stream([ten, eleven], (), NOW)
    assert [(s.start, s.end, s.owner) for s in plan.segments] == [
        (NOW + hour - 300, NOW + 2 * hour, "a"),
        (NOW + 2 * hour, NOW + 3 * hour + 300, "b"),
    ]


def test_padding_between_two_classes_goes_to_the_nearer_one() -> None:
    a, b = standing("a", NOW + 1000, NOW + 2000, 1200), standing("b", NOW + 2600, NOW + 3600, 1200)
    assert owner_at(NOW + 2200, [a, b]).pk == "a" and owner_at(NOW + 2400, [a, b]).pk == "b"


def test_a_running_task_is_kept_while_needed_and_stopped_when_not() -> None:
    a = standing("a", NOW - 600, NOW + 600, 0)
    running = Segment(NOW - 600, NOW + 600, "a", "t-1")
    assert plan_stream([a], [running], NOW).stop == ()
    assert plan_stream([], [running], NOW).stop == (running,)
    b = standing("b", NOW + 300, NOW + 1200, 0)  # needs part of it: kept, and the rest gets its own task
    plan = plan_stream([b], [running], NOW)
    assert plan.stop == () and [(s.start, s.end, s.owner) for s in plan.create] == [(NOW + 600, NOW + 1200, "b")]


def test_a_window_longer_than_a_day_is_cut_into_tasks_of_a_day() -> None:
    long = standing("a", NOW, NOW + 2 * MAX_TASK_SECONDS + 60, 0)
    assert [s.end - s.start for s in plan_stream([long], (), NOW).create] == [MAX_TASK_SECONDS, MAX_TASK_SECONDS, 60]
