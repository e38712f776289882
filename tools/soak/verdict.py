"""The soak's verdict: exactly one task per booking, and each booking's one terminal result published or
its message in the dead-letter queue."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tools.soak.sqs import Message


@dataclass
class SoakReport:
    bookings: int
    messages: int
    tasks: int = 0
    duplicates: int = 0
    lost: list[str] = field(default_factory=list)
    results: Counter[str] = field(default_factory=Counter)
    dead_letters: dict[str, str] = field(default_factory=dict)  # booking id -> reason
    repeated_results: list[str] = field(default_factory=list)  # bookings whose one result went out twice
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"bookings {self.bookings}, messages {self.messages}, tasks {self.tasks}, duplicates {self.duplicates}, "
            f"lost {len(self.lost)}",
            f"results published by status: {dict(sorted(self.results.items()))}; the same result published "
            f"again for {len(self.repeated_results)} bookings {self.repeated_results[:10]}",
            f"DLQ entries: {len(self.dead_letters)}"
            + "".join(f"\n  {booking}: {reason}" for booking, reason in sorted(self.dead_letters.items())),
        ]


def verify(
    messages: list[Message],
    tasks: list[dict[str, Any]],
    results: list[dict[str, Any]],
    dead: list[Message],
    only: set[str] | None = None,
) -> SoakReport:
    """Exactly one task per booking; each booking's one terminal result published, or it is in the DLQ.

    `only` limits the tasks looked at to those streams (an emulator that served earlier runs too)."""
    streams = {m.booking_id: m.stream_name for m in messages}
    report = SoakReport(bookings=len(streams), messages=len(messages))
    by_stream: dict[str, list[dict[str, Any]]] = {}
    tasks = tasks if only is None else [t for t in tasks if t["StreamName"] in only]
    for task in tasks:
        by_stream.setdefault(task["StreamName"], []).append(task)
    by_booking: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        report.results[result["status"]] += 1
        by_booking.setdefault(result.get("bookingId") or "(none)", []).append(result)
    in_dlq = {m.booking_id for m in dead}
    report.tasks = len(tasks)
    report.duplicates = sum(len(found) - 1 for found in by_stream.values() if len(found) > 1)
    for booking_id, stream in sorted(streams.items()):
        made, published = by_stream.get(stream, []), by_booking.get(booking_id, [])
        live = [t for t in made if t.get("Status") != "deleted"]
        if len(made) > 1:
            detail = [(t["TaskId"], t.get("CreatedAt"), t.get("Status")) for t in made]
            report.problems.append(f"{booking_id}: {len(made)} tasks were created {detail}")
        if booking_id in in_dlq:
            failed = [r for r in published if r["status"] == "failed"]
            reason = failed[0]["error"]["message"] if failed else "(its `failed` result was not published)"
            report.dead_letters[booking_id] = reason
            if [r for r in published if r["status"] != "failed"] and failed:
                report.problems.append(f"{booking_id}: in the DLQ with contradicting results {published}")
            continue
        if len(published) > 1 and all(r == published[0] for r in published):
            report.repeated_results.append(booking_id)  # one outcome, published more than once
            published = published[:1]
        if not published:
            report.lost.append(booking_id)
            report.problems.append(f"{booking_id}: no result and not in the DLQ (lost)")
        elif [r["status"] for r in published] != ["created"]:
            seen = [(r["status"], r["receivedAt"], [t["taskId"] for t in r.get("tasks", [])]) for r in published]
            report.problems.append(f"{booking_id}: results {seen}, expected one created")
        elif len(live) != 1 or [t["taskId"] for t in published[0]["tasks"]] != [live[0]["TaskId"]]:
            report.problems.append(f"{booking_id}: the created result does not name its one live task")
    strays = sorted(set(by_booking) - set(streams))
    if strays:
        report.problems.append(f"results for bookings nobody sent: {strays[:5]}")
    stray_tasks = sorted(set(by_stream) - set(streams.values()))
    if stray_tasks:
        report.problems.append(f"tasks for streams no booking names: {stray_tasks[:5]}")
    return report
