"""What the platform makes of several tasks on one stream, read from the emulator's task ledger.

A stream is (Region, DomainName, AppName, StreamName). The API accepts tasks with overlapping windows, and
the documentation says the platform then starts at most three recordings of one stream at a time. Here the
three that record are those that started first (ties: created first); a task beyond three records nothing
until a slot frees. `missed_recordings` names the seconds each task so loses; `timeline` is the function's
view of a stream (CONTRACT.md section 8): its live tasks, a stopped one up to its stop, a deleted one not at
all, so a test can assert that no two overlap (`overlaps`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from tools.emulator.callbacks import recorded_window
from tools.emulator.rules import GONE, STOPPED

MAX_RECORDING_AT_ONCE = 3


class Stream(NamedTuple):
    region: str
    domain_name: str
    app_name: str
    stream_name: str

    @classmethod
    def of(cls, task: dict[str, Any]) -> Stream:
        return cls(task["Region"], task["DomainName"], task["AppName"], task["StreamName"])

    def to_dict(self) -> dict[str, str]:
        names = ("Region", "DomainName", "AppName", "StreamName")
        return dict(zip(names, self, strict=True))


@dataclass(frozen=True, order=True)
class Span:
    """Seconds `start` (inclusive) to `end` (exclusive) of one task."""

    start: int
    end: int
    task_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"TaskId": self.task_id, "Start": self.start, "End": self.end}


def timeline(tasks: Iterable[dict[str, Any]]) -> dict[Stream, list[Span]]:
    """Per stream, its tasks that are not deleted, a stopped one up to its stop, sorted by start."""
    found: dict[Stream, list[Span]] = {}
    for task in tasks:
        if task["Status"] in GONE:
            continue
        end = int(task["Stopped"]) if task["Status"] == STOPPED else int(task["EndTime"])
        found.setdefault(Stream.of(task), []).append(Span(int(task["StartTime"]), end, task["TaskId"]))
    return {stream: sorted(spans) for stream, spans in found.items()}


def overlaps(spans: Iterable[Span]) -> list[tuple[Span, Span]]:
    """Every pair of spans that share a second (one ending where the next starts share none)."""
    ordered = sorted(spans)
    return [(a, b) for a, b in itertools.combinations(ordered, 2) if b.start < a.end and a.start < b.end]


def recording(task: dict[str, Any]) -> Span | None:
    """The seconds a task asks the platform to record: from its start (or its creation, when created under
    way) to its end, its stop, or nothing when it was deleted before it started. A task deleted while it
    ran goes on recording: the docs say deleting does not affect a running task."""
    window = recorded_window(task)
    if window is None:
        return None
    start = max(window[0], int(task.get("CreatedAt") or window[0]))
    return Span(start, window[1], task["TaskId"]) if window[1] > start else None


def missed_recordings(tasks: Iterable[dict[str, Any]]) -> dict[Stream, list[Span]]:
    """Per stream with more than three tasks recording at once, the seconds of each task the platform
    does not record; a stream that never has more than three is not listed."""
    ordered = list(tasks)  # creation order breaks ties between tasks that start together
    by_stream: dict[Stream, list[tuple[Span, int]]] = {}
    for created, task in enumerate(ordered):
        span = recording(task)
        if span is not None:
            by_stream.setdefault(Stream.of(task), []).append((span, created))
    missed = {stream: _missed(spans) for stream, spans in by_stream.items()}
    return {stream: spans for stream, spans in missed.items() if spans}


def _missed(spans: list[tuple[Span, int]]) -> list[Span]:
    """Sweep the stream's boundaries: between two of them the same tasks want to record, and those past
    the first three (by start, then creation) miss that stretch; adjacent stretches of a task are joined."""
    bounds = sorted({edge for span, _ in spans for edge in (span.start, span.end)})
    lost: list[Span] = []
    last: dict[str, int] = {}  # task id -> index of its latest stretch in `lost`
    for a, b in itertools.pairwise(bounds):
        wanting = sorted((span.start, created, span.task_id) for span, created in spans if span.start <= a < span.end)
        for _, _, task_id in wanting[MAX_RECORDING_AT_ONCE:]:
            n = last.get(task_id)
            if n is not None and lost[n].end == a:
                lost[n] = Span(lost[n].start, b, task_id)
            else:
                last[task_id] = len(lost)
                lost.append(Span(a, b, task_id))
    return sorted(lost)
