"""`make demo`'s studio section (docs/contract.md, "Streams"): bookings that share one camera stream.

Two back-to-back padded yoga classes and a double booking on `studio-1`, then one class cancelled; after
each step the stream's timeline shows which task records which seconds for whom, and the invariants are
checked against the emulator's own task list: no two tasks overlap, every standing booking's padded window
is recorded, nothing not started records seconds nobody booked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from tools.emulator.streams import Span, overlaps, timeline
from tools.lambda_events import FakeContext, direct
from tools.sample_events import signed_direct

STREAM = "studio-1"
PADDING = 300  # RECORD_LEAD_SECONDS and RECORD_TAIL_SECONDS in the demo's environment
HOUR = 3600


def studio(handler: ModuleType, emulator: Any, now: int) -> list[str]:
    """Book, double-book and cancel on one stream; print its timeline after each step; the problems found."""
    ten = (now // HOUR + 25) * HOUR  # tomorrow, on the hour
    classes = {"yoga-1000": (ten, ten + HOUR), "yoga-1100": (ten + HOUR, ten + 2 * HOUR),
               "double-1030": (ten + HOUR // 2, ten + 3 * HOUR // 2)}  # fmt: skip
    standing: dict[str, tuple[int, int]] = {}
    problems: list[str] = []
    for booking_id, (start, end) in classes.items():
        answer = _send(handler, direct(booking_id, start, end, StreamName=STREAM))
        standing[booking_id] = (start, end)
        owners = _owners(handler, standing)
        problems += _show(f"{booking_id} booked {_hm(start)}-{_hm(end)}", answer, emulator, owners, standing, now)
    answer = _send(handler, {"BookingId": "yoga-1000", "Action": "cancel"})
    del standing["yoga-1000"]
    problems += _show("yoga-1000 cancelled", answer, emulator, _owners(handler, standing), standing, now)
    return problems


def _send(handler: ModuleType, body: dict[str, Any]) -> dict[str, Any]:
    response = handler.webhook(signed_direct(json.dumps(body)), FakeContext())
    answer: dict[str, Any] = json.loads(response["body"])
    answer["_http"] = response["statusCode"]
    return answer


def _owners(handler: ModuleType, standing: dict[str, tuple[int, int]]) -> dict[str, set[str]]:
    """Whose booked window each task was made for, as the standing bookings' items name it (a task recorded for
    a neighbour carries the neighbour's id)."""
    owners: dict[str, set[str]] = {}
    for booking_id in standing:
        entry = handler.APP.ledger.get(f"direct#{booking_id}")
        for task in entry.tasks if entry else ():
            owners.setdefault(task.task_id, set()).add(task.booking_id or booking_id)
    return owners


def _show(step: str, answer: dict[str, Any], emulator: Any, owners: dict[str, set[str]],
          standing: dict[str, tuple[int, int]], now: int) -> list[str]:  # fmt: skip
    spans = next((s for stream, s in timeline(emulator.tasks).items() if stream.stream_name == STREAM), [])
    print(f"  {step:<34} HTTP {answer['_http']} {answer.get('status')}")
    for span in spans:
        who = ", ".join(sorted(owners.get(span.task_id, {"?"})))
        print(f"      {_hm(span.start)}-{_hm(span.end)}  {span.task_id:<36} made for {who}")
    return _check(step, spans, standing, now)


def _check(step: str, spans: list[Span], standing: dict[str, tuple[int, int]], now: int) -> list[str]:
    found = [f"{step}: tasks {a.task_id} and {b.task_id} overlap" for a, b in overlaps(spans)]
    padded = [(start - PADDING, end + PADDING) for start, end in standing.values()]
    for start, end in padded:
        covered = sum(max(0, min(end, s.end) - max(start, s.start)) for s in spans)
        if covered < end - start:
            found.append(f"{step}: {_hm(start)}-{_hm(end)} is booked but only {covered} of {end - start} s recorded")
    for span in spans:
        if span.start > now and not any(start <= span.start and span.end <= end for start, end in _merged(padded)):
            found.append(f"{step}: task {span.task_id} records seconds nobody booked")
    return found


def _merged(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _hm(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M")
