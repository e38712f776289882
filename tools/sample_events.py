"""Writes `events/`: sample Lambda events for `osls invoke local -p`, and the demo's inputs.

Booking windows and Calendly signature timestamps must be recent to be valid, so the samples are
generated relative to now (`make events`) rather than frozen. Webhook samples are signed with the
documented test secrets `calcom-test-secret` and `calendly-test-secret`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from record_task.sources.signatures import sign_calcom, sign_calendly, sign_direct
from tools.lambda_events import direct, http_event, scheduled_event, sqs_event, sqs_record

EVENTS = Path(__file__).resolve().parent.parent / "events"
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
HOUR = 3600
DAY = 24 * HOUR
CALCOM_SECRET = "calcom-test-secret"
CALENDLY_SECRET = "calendly-test-secret"
DIRECT_SECRET = "direct-test-secret"


def _next_hour(now: int) -> int:
    return now - now % HOUR + HOUR


def _iso(epoch: int, offset: str) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + offset


def direct_bookings(now: int) -> dict[str, dict[str, Any]]:
    start = _next_hour(now) + HOUR
    far = _next_hour(now) + 21 * DAY
    return {
        "valid-1": direct("demo-direct-1", start, start + HOUR, DomainName="5000.live.push.com"),
        "valid-2": direct("demo-direct-2", _iso(start + 2 * HOUR, "+00:00"), start + 3 * HOUR),
        "invalid": direct("demo-direct-bad", start, _iso(start + HOUR, "")),  # no UTC offset: rejected
        "far": direct("demo-direct-far", far, far + HOUR),
        "cancel": {"BookingId": "demo-direct-1", "Action": "cancel"},
    }


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def calcom(name: str, start: int) -> dict[str, Any]:
    """A published-shape Cal.com body moved to a window starting at `start`."""
    body = fixture(f"calcom/{name}.json")
    body["payload"]["startTime"] = _iso(start, "Z")
    body["payload"]["endTime"] = _iso(start + HOUR, "Z")
    return body


def calendly(name: str, start: int) -> dict[str, Any]:
    """A published-shape Calendly body moved to a window starting at `start`."""
    body = fixture(f"calendly/{name}.json")
    body["payload"]["scheduled_event"]["start_time"] = _iso(start, ".000000Z")
    body["payload"]["scheduled_event"]["end_time"] = _iso(start + HOUR, ".000000Z")
    return body


def signed_direct(text: str, **options: Any) -> dict[str, Any]:
    """`POST /bookings` signed with the test secret; `options` as for `http_event`."""
    return http_event("/bookings", text, {"X-Signature-256": sign_direct(text, DIRECT_SECRET)}, **options)


def signed_calcom(body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(body)
    return http_event("/webhooks/calcom", text, {"X-Cal-Signature-256": sign_calcom(text, CALCOM_SECRET)})


def signed_calendly(body: dict[str, Any], now: int) -> dict[str, Any]:
    text = json.dumps(body)
    header = sign_calendly(text, CALENDLY_SECRET, now)
    return http_event("/webhooks/calendly", text, {"Calendly-Webhook-Signature": header})


def build(now: int) -> dict[str, dict[str, Any]]:
    """Every sample event by file name."""
    bookings = direct_bookings(now)
    soon = _next_hour(now) + 2 * HOUR
    events: dict[str, dict[str, Any]] = {
        "queue-direct-valid.json": sqs_event(
            sqs_record(bookings["valid-1"], message_id="11111111-1111-1111-1111-111111111111"),
            sqs_record(bookings["valid-2"], message_id="22222222-2222-2222-2222-222222222222"),
        ),
        "queue-direct-invalid.json": sqs_event(
            sqs_record(bookings["invalid"], message_id="33333333-3333-3333-3333-333333333333"),
            sqs_record("{not json", message_id="44444444-4444-4444-4444-444444444444"),
        ),
        "queue-direct-far.json": sqs_event(
            sqs_record(bookings["far"], message_id="55555555-5555-5555-5555-555555555555")
        ),
        "queue-calcom-created.json": sqs_event(
            sqs_record(
                calcom("booking_created", soon), message_id="66666666-6666-6666-6666-666666666666", source="calcom"
            )
        ),
        "http-direct-valid.json": signed_direct(json.dumps(bookings["valid-1"])),
        "http-direct-invalid.json": signed_direct(json.dumps(bookings["invalid"])),
        "http-direct-cancel.json": signed_direct(json.dumps(bookings["cancel"])),
        "http-calcom-created.json": signed_calcom(calcom("booking_created", soon)),
        "http-calcom-rescheduled.json": signed_calcom(calcom("booking_rescheduled", soon + 3 * HOUR)),
        "http-calcom-cancelled.json": signed_calcom(calcom("booking_cancelled", soon + 3 * HOUR)),
        "http-calcom-meeting-ended.json": signed_calcom(fixture("calcom/meeting_ended.json")),
        "http-calendly-created.json": signed_calendly(calendly("invitee_created", soon), now),
        "http-calendly-rescheduled-created.json": signed_calendly(
            calendly("rescheduled_invitee_created", soon + 3 * HOUR), now
        ),
        "http-calendly-rescheduled-canceled.json": signed_calendly(calendly("rescheduled_invitee_canceled", soon), now),
        "schedule-sweep.json": scheduled_event(now),
    }
    return events


def write(now: int | None = None, directory: Path = EVENTS) -> list[Path]:
    now = int(time.time()) if now is None else now
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, event in build(now).items():
        path = directory / name
        path.write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write():
        print(f"wrote {written_path.relative_to(EVENTS.parent)}")
