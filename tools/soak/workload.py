"""The soak's bookings: distinct, valid, from all three sources and every queue shape, some sent twice."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from tools.soak.sqs import Message

HOUR = 3600
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def _iso(epoch: int, suffix: str) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + suffix


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def make_bookings(count: int, now: int, run: str, *, duplicate_every: int = 20) -> list[Message]:
    """`count` distinct valid bookings from all three sources and every queue shape, soon after `now`;
    every `duplicate_every`-th is also sent a second time (SQS standard queues deliver at least once)."""
    calcom, calendly = _fixture("calcom/booking_created.json"), _fixture("calendly/invitee_created.json")
    messages: list[Message] = []
    for n in range(count):
        booking_id = f"{run}-{n}"
        start = now - now % HOUR + 2 * HOUR + 60 * n
        end = start + 1800
        kind = n % 5
        source: str | None = None
        if kind in (0, 1):
            stream = f"soak-{booking_id}"
            body: dict[str, Any] = {"BookingId": booking_id, "StreamName": stream, "StartTime": start, "EndTime": end}
            source = "direct" if kind == 1 else None
        elif kind == 2:
            stream, body, source = booking_id, copy.deepcopy(calcom), "calcom"
            body["payload"].update(uid=booking_id, startTime=_iso(start, ".000Z"), endTime=_iso(end, "Z"))
        else:
            stream, body = booking_id, copy.deepcopy(calendly)
            event = body["payload"]["scheduled_event"]
            event.update(uri=f"https://api.calendly.com/scheduled_events/{booking_id}")
            event.update(start_time=_iso(start, ".000000Z"), end_time=_iso(end, ".000000Z"))
        text = json.dumps(body)
        if kind == 4:  # SNS -> SQS without raw delivery: the booking inside an envelope
            attributes = {"source": {"Type": "String", "Value": "calendly"}}
            text = json.dumps({"Type": "Notification", "Message": text, "MessageAttributes": attributes})
        messages.append(Message(f"m-{booking_id}", booking_id, stream, text, source))
        if duplicate_every and n % duplicate_every == 0:
            messages.append(Message(f"m-{booking_id}-again", booking_id, stream, text, source))
    return messages
