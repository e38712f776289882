"""The stream planner: which tasks one stream should have, given the bookings standing on it, the tasks it
has and the time (docs/contract.md, "Streams").

Pure: no I/O, the clock a parameter. Each second still ahead that some standing booking's padded window
holds gets one owner: a booked second its booking (double-booked: the earlier-starting one), a padding
second the booking whose booked window is nearest. A segment is a maximal run of one owner, cut into
<= 24 h tasks. Against what exists: a running task is kept while any booking still needs a second of it
(it cannot be shortened) and stopped otherwise; a task not started is kept only when identical to a
segment, else deleted; missing segments are created.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from record_task.model.streams import Segment, StreamBooking, Window

MAX_TASK_SECONDS = 24 * 3600


@dataclass(frozen=True)
class StreamPlan:
    """The stream after the plan (history, kept, running and new segments) and the calls that get there."""

    segments: tuple[Segment, ...]
    create: tuple[Segment, ...]
    delete: tuple[Segment, ...]  # not started and no longer wanted
    stop: tuple[Segment, ...]  # running, and no standing booking needs any of its remaining seconds


def plan_stream(standing: Iterable[StreamBooking], segments: Iterable[Segment], now: int) -> StreamPlan:
    """The tasks the stream should have from `now` on; `segments` must all have task ids."""
    bookings = sorted(standing, key=lambda b: (b.booked[0], b.pk))
    needed = union((max(b.padded[0], now), b.padded[1]) for b in bookings if b.padded[1] > now)
    history: list[Segment] = []
    running: list[Segment] = []
    stop: list[Segment] = []
    waiting: dict[tuple[int, int, str], Segment] = {}
    for segment in segments:
        if segment.end <= now:
            history.append(segment)
        elif segment.start > now:
            waiting[(segment.start, segment.end, segment.owner)] = segment
        elif any(segment.overlaps(window) for window in needed):
            running.append(segment)
        else:
            stop.append(segment)
    free = subtract(needed, [(now, segment.end) for segment in running])
    kept: list[Segment] = []
    create: list[Segment] = []
    for wanted in (piece for run in _runs(free, bookings) for piece in _pieces(run)):
        same = waiting.pop((wanted.start, wanted.end, wanted.owner), None)
        (kept if same is not None else create).append(same or wanted)
    stopped = [replace(segment, end=now, stopped=True) for segment in stop]
    after = sorted([*history, *stopped, *running, *kept, *create], key=lambda s: (s.start, s.end))
    return StreamPlan(tuple(after), tuple(create), tuple(waiting.values()), tuple(stop))


def covering(segments: Iterable[Segment], booking: StreamBooking) -> tuple[Segment, ...]:
    """The segments that record part of the booking's padded window."""
    return tuple(segment for segment in segments if segment.overlaps(booking.padded) and segment.end > segment.start)


def owner_at(second: int, bookings: Sequence[StreamBooking]) -> StreamBooking:
    """Booked seconds go to their booking (the earlier-starting one when double-booked); padding seconds to
    the booking whose booked window is nearest (ties: the earlier-starting one)."""
    holding = [b for b in bookings if b.padded[0] <= second < b.padded[1]]
    booked = [b for b in holding if b.booked[0] <= second < b.booked[1]]
    if booked:
        return booked[0]
    return min(holding, key=lambda b: (_distance(second, b.booked), b.booked[0], b.pk))


def union(windows: Iterable[Window]) -> list[Window]:
    """Disjoint, sorted windows covering the same seconds (adjacent ones merged)."""
    merged: list[Window] = []
    for start, end in sorted(w for w in windows if w[1] > w[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(windows: Iterable[Window], holes: Iterable[Window]) -> list[Window]:
    """The seconds of `windows` outside every hole."""
    left = union(windows)
    for hole_start, hole_end in union(holes):
        left = [
            piece for s, e in left for piece in ((s, min(e, hole_start)), (max(s, hole_end), e)) if piece[1] > piece[0]
        ]
    return left


def _distance(second: int, booked: Window) -> int:
    return booked[0] - second if second < booked[0] else max(0, second - booked[1] + 1)


def _runs(free: list[Window], bookings: Sequence[StreamBooking]) -> list[Segment]:
    """Maximal runs of one owner inside the free windows."""
    marks = {edge for b in bookings for edge in (*b.booked, *b.padded)}
    # where the nearest booked window changes from a (before) to b (after)
    marks |= {(a.booked[1] + b.booked[0] + 1) // 2 for a in bookings for b in bookings if a.booked[1] <= b.booked[0]}
    runs: list[Segment] = []
    for start, end in free:
        cuts = sorted({start, end} | {m for m in marks if start < m < end})
        for left, right in pairwise(cuts):
            owner = owner_at(left, bookings).pk
            if runs and runs[-1].owner == owner and runs[-1].end == left:
                runs[-1] = replace(runs[-1], end=right)
            else:
                runs.append(Segment(left, right, owner))
    return runs


def _pieces(run: Segment) -> list[Segment]:
    return [
        replace(run, start=s, end=min(s + MAX_TASK_SECONDS, run.end))
        for s in range(run.start, run.end, MAX_TASK_SECONDS)
    ]
