"""The soak's revoked-key phase (docs/contract.md, "Nothing valid is refused"): the Tencent key is revoked
while bookings arrive, then restored, and the dead-letter queue is redriven, as an operator would.
Every booking must end with exactly one task and a `created` result: none lost, none made twice."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from tools.soak.sqs import Message, QueueHandler, SqsSimulator

REVOKED = "AuthFailure.SecretIdNotFound"


@dataclass
class RevokedReport:
    bookings: int
    dead_lettered: int = 0  # moved to the DLQ while the key was revoked, then redriven
    statuses: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"revoked key: {self.bookings} bookings, {self.dead_lettered} dead-lettered and redriven after the "
                f"fix, results {dict(sorted(self.statuses.items()))}, problems {len(self.problems)}")  # fmt: skip


def revoked_phase(
    handle: QueueHandler,
    emulator: Any,
    results: Any,
    messages: list[Message],
    revoked_seconds: float,
    max_receive_count: int = 5,
) -> RevokedReport:
    """Deliver `messages` with the key revoked for the first `revoked_seconds`; redrive the DLQ after."""
    sqs = SqsSimulator(handle, max_receive_count=max_receive_count, visibility_seconds=1.0)
    sqs.send(messages)
    emulator.revoke_key(REVOKED)
    restore = threading.Timer(revoked_seconds, emulator.restore_key)
    restore.start()
    try:
        sqs.run()
    finally:
        restore.join()
    redrive = SqsSimulator(handle, max_receive_count=max_receive_count, visibility_seconds=1.0)
    redrive.send(replace(m, receive_count=0, visible_at=0.0) for m in sqs.dead_letters)  # a redrive resets the count
    redrive.run()
    report = RevokedReport(bookings=len({m.booking_id for m in messages}), dead_lettered=len(sqs.dead_letters))
    _judge(report, messages, emulator.tasks, results(), redrive.dead_letters)
    return report


def _judge(
    report: RevokedReport, messages: list[Message], tasks: list[dict[str, Any]], published: list[dict[str, Any]],
    still_dead: list[Message],
) -> None:  # fmt: skip
    """One live task and a last result `created` naming it per booking; `failed` only for a held key."""
    by_booking: dict[str, list[dict[str, Any]]] = {}
    for result in published:
        report.statuses[result["status"]] += 1
        by_booking.setdefault(result.get("bookingId") or "(none)", []).append(result)
    streams = {m.booking_id: m.stream_name for m in messages}
    for booking_id, stream in sorted(streams.items()):
        live = [t for t in tasks if t["StreamName"] == stream and t.get("Status") != "deleted"]
        said = by_booking.get(booking_id, [])
        if len(live) != 1:
            report.problems.append(f"{booking_id}: {len(live)} live tasks")
        elif not said or said[-1]["status"] != "created" or said[-1]["tasks"][0]["taskId"] != live[0]["TaskId"]:
            report.problems.append(f"{booking_id}: last result {[r['status'] for r in said]}, expected created")
        # a copy's last delivery says `failed`: the key, or the other copy holding the claim meanwhile
        wrong = [r for r in said[:-1] if r["status"] != "failed" or r["error"]["code"] not in (REVOKED, "InProgress")]
        if wrong:
            report.problems.append(f"{booking_id}: unexpected earlier results {[r['status'] for r in wrong]}")
    report.problems += [f"{m.booking_id}: still in the DLQ after the redrive" for m in still_dead]
