"""`make demo`: the whole pipeline on loopback, real HTTP all the way.

Starts a moto server (SQS, SNS, DynamoDB) and the Tencent emulator, creates the stack's resources,
drives the `events/` samples (fresh copies written to `.demo/events`) through `handler.queue`,
`handler.webhook` and `handler.sweep` (every delivery twice), books one studio camera stream for
back-to-back padded classes, a double booking and a cancellation (tools/demo_studio.py), lets the
emulator send Tencent's recording callbacks for the sessions that took place to `POST /webhooks/tencent`
(created -> recorded, with the file's URL), then prints the results read back from the topic and the
emulator's task ledger, checks them, and stops everything it started.

With `TENCENTCLOUD_SECRET_ID`/`TENCENTCLOUD_SECRET_KEY` set and `LIVE_ENDPOINT` unset, the Tencent
part goes to the real API instead of the emulator (AWS stays local); the sweep section, which needs
a clock three weeks ahead, is then skipped.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
from contextlib import ExitStack
from types import ModuleType
from typing import Any

from tools import sample_events
from tools.demo_studio import PADDING, STREAM, studio
from tools.lambda_events import FakeContext, scheduled_event
from tools.local_api import local_api
from tools.local_aws import CREDENTIALS, MotoStack, moto_server

DEMO_EVENTS = sample_events.EVENTS.parent / ".demo" / "events"  # gitignored
DAY = 24 * 3600
CALCOM_FIRST, CALCOM_MOVED = "qX4nT2vRbZ8hWkLm5PcD1s", "mR7pQ3sLw9YcV2nHk6JdF0"  # uids in tests/fixtures/calcom
CALENDLY_FIRST, CALENDLY_MOVED = "0f6c1a3e-9b2d-4e7f-8a1c-3d5e7f9b1a2c", "3a5c7e9b-1d3f-4a5c-8e7a-9b1d3f5a7c9e"
WEEKS_3 = 21 * DAY
CALLBACK_KEY = "tencent-test-key"
RECORDED = ["recording_started", "recorded", "recording_ended"]
LOG_LEVEL = os.environ.get("DEMO_LOG_LEVEL", "WARNING").upper()  # DEBUG: how tests/e2e/test_secrets.py runs it


class DemoClock:
    """The emulator's clock: real time, plus a jump forward for the sweep section."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def say(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 74 - len(title)))


def load(name: str) -> dict[str, Any]:
    return json.loads((DEMO_EVENTS / name).read_text())  # type: ignore[no-any-return]


def show(label: str, response: dict[str, Any]) -> None:
    if "statusCode" in response:
        body = json.loads(response.get("body") or "{}")
        detail = body.get("status") or body.get("error", {}).get("message")
        print(f"  {label:<44} HTTP {response['statusCode']} {detail}")
    else:
        print(f"  {label:<44} {json.dumps(response)}")


def main() -> int:
    if LOG_LEVEL == "DEBUG":  # every library's log too (botocore, urllib3, the SDK): what a secret could leak into
        logging.basicConfig(level=logging.DEBUG)
    real_api = not os.environ.get("LIVE_ENDPOINT") and bool(os.environ.get("TENCENTCLOUD_SECRET_ID"))
    clock = DemoClock()
    with ExitStack() as running:
        endpoint = running.enter_context(moto_server())
        stack = MotoStack(endpoint=endpoint).create()
        env = {
            **CREDENTIALS,
            **stack.env(),
            "DEFAULT_DOMAIN_NAME": os.environ.get("DEFAULT_DOMAIN_NAME", "5000.live.push.com"),
            "CALCOM_WEBHOOK_SECRET": sample_events.CALCOM_SECRET,
            "CALENDLY_WEBHOOK_SECRET": sample_events.CALENDLY_SECRET,
            "DIRECT_WEBHOOK_SECRET": sample_events.DIRECT_SECRET,
            "TENCENT_CALLBACK_KEY": CALLBACK_KEY,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_LOG_LEVEL": LOG_LEVEL,
            "POWERTOOLS_METRICS_DISABLED": "1",
            "RECORD_LEAD_SECONDS": str(PADDING),  # five minutes either side: the studio's neighbours overlap
            "RECORD_TAIL_SECONDS": str(PADDING),
        }
        emulator = None
        if not real_api:
            from tools.emulator import start_emulator

            emulator = running.enter_context(start_emulator(now=clock))
            env.update(
                LIVE_ENDPOINT=emulator.endpoint,
                TENCENTCLOUD_SECRET_ID="AKIDEMULATOR",
                TENCENTCLOUD_SECRET_KEY="emulator-secret-key",
            )
        os.environ.update(env)
        print(f"local AWS (moto server): {endpoint}")
        print(
            f"Tencent Live API: {emulator.endpoint if emulator else 'the real API (credentials from the environment)'}"
        )
        sample_events.write(directory=DEMO_EVENTS)  # fresh copies; the committed events/ stay as they are
        handler = importlib.import_module("handler")
        run_samples(handler)
        studio_problems: list[str] = []
        if emulator is not None:
            say(f"one studio camera ({STREAM}): back-to-back padded classes, a double booking, a cancellation")
            studio_problems = studio(handler, emulator, int(clock()))
            run_sweep(handler, clock, emulator)
            run_recordings(handler, emulator)
        results = stack.results()
        print_results(results)
        tasks = emulator.tasks if emulator else []
        if emulator is not None:
            print_tasks(tasks)
        problems = check(results, tasks, swept=emulator is not None) + studio_problems
    if problems:
        print("\nDEMO FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("\ndemo: every expectation met; everything started has been stopped.")
    return 0


def run_samples(handler: ModuleType) -> None:
    context = FakeContext()
    say("direct bookings through handler.queue (every batch delivered twice)")
    for name in ("queue-direct-valid.json", "queue-direct-invalid.json", "queue-direct-far.json"):
        for delivery in (1, 2):
            show(f"{name} #{delivery}", handler.queue(load(name), context))
    say("direct bookings through handler.webhook (every request sent twice)")
    for name in ("http-direct-valid.json", "http-direct-invalid.json", "http-direct-cancel.json"):
        for delivery in (1, 2):
            show(f"{name} #{delivery}", handler.webhook(load(name), context))
    say("Cal.com: created -> rescheduled -> cancelled (signed webhooks, each sent twice)")
    for name in (
        "http-calcom-created.json",
        "queue-calcom-created.json",
        "http-calcom-rescheduled.json",
        "http-calcom-cancelled.json",
        "http-calcom-meeting-ended.json",
    ):
        entry = handler.queue if name.startswith("queue") else handler.webhook
        for delivery in (1, 2):
            show(f"{name} #{delivery}", entry(load(name), context))
    say("Calendly: a booking, then its reschedule pair arriving create-first (each sent twice)")
    for name in (
        "http-calendly-created.json",
        "http-calendly-rescheduled-created.json",
        "http-calendly-rescheduled-canceled.json",
    ):
        for delivery in (1, 2):
            show(f"{name} #{delivery}", handler.webhook(load(name), context))


def run_sweep(handler: ModuleType, clock: DemoClock, emulator: Any) -> None:
    say("three weeks later: handler.sweep activates the deferred booking")
    show("sweep now (nothing due)", handler.sweep(scheduled_event(int(time.time())), FakeContext()))
    clock.offset = WEEKS_3 - DAY
    later = int(clock())
    for run in (1, 2):
        show(f"sweep at now+20 days #{run}", handler.sweep(scheduled_event(later), FakeContext(remaining_ms=900_000)))


def run_recordings(handler: ModuleType, emulator: Any) -> None:
    say("the sessions that took place: Tencent's recording callbacks -> POST /webhooks/tencent")
    with local_api(handler.webhook) as api:
        emulator.configure_callbacks(f"{api}/webhooks/tencent", CALLBACK_KEY)
        for sent in emulator.finish_recordings():
            body = sent.body
            what = body.get("video_url") or body.get("record_event") or ""
            print(f"  event {body['event_type']} task {body.get('task_id', '-'):<36} HTTP {sent.status}  {what}")


def print_results(results: list[dict[str, Any]]) -> None:
    say(f"results read back from the topic ({len(results)})")
    for r in results:
        error = r.get("error") or {}
        detail = f"field={error.get('field')}: {error.get('message')}" if error else r.get("reason", "")
        tasks = ",".join(t["taskId"] for t in r.get("tasks", []))
        shown = (r.get("recording") or {}).get("videoUrl") or tasks or detail
        print(f"  {r['status']:<17} {r['source'] or '-':<8} {r['bookingId'] or '(unreadable)':<38} {shown}")


def print_tasks(tasks: list[dict[str, Any]]) -> None:
    say(f"the emulator's task ledger ({len(tasks)})")
    for t in tasks:
        print(f"  {t['TaskId']:<38} {t['StreamName']:<24} {t['StartTime']}-{t['EndTime']}  {t.get('Status')}")


def check(results: list[dict[str, Any]], tasks: list[dict[str, Any]], *, swept: bool) -> list[str]:
    """What the demo promises, verified rather than eyeballed."""
    problems = []
    by_booking: dict[str, list[str]] = {}
    for r in results:
        if not (r["bookingId"] or "").startswith(("yoga-", "double-")):  # the studio section checks its own
            by_booking.setdefault(r["bookingId"] or "(unreadable)", []).append(r["status"])
    expected = {
        CALCOM_FIRST: ["created", "cancelled", "skipped"],  # skipped: the MEETING_ENDED trigger
        CALCOM_MOVED: ["created", "cancelled"],
        CALENDLY_FIRST: ["created", "cancelled"],
        CALENDLY_MOVED: ["created", *RECORDED] if swept else ["created"],
        "demo-direct-1": ["created", "cancelled"],
        "demo-direct-2": ["created", *RECORDED] if swept else ["created"],
        "demo-direct-bad": ["rejected"],
        "(unreadable)": ["rejected"],
        "demo-direct-far": ["deferred", "created"] if swept else ["deferred"],
    }
    for booking_id, statuses in expected.items():
        if by_booking.get(booking_id) != statuses:
            problems.append(f"{booking_id}: expected results {statuses}, got {by_booking.get(booking_id)}")
    bad = next((r for r in results if r["bookingId"] == "demo-direct-bad"), None)
    recorded = [r for r in results if r["status"] == "recorded"]
    if swept and not all((r.get("recording") or {}).get("videoUrl") for r in recorded):
        problems.append("a recorded result carries no file URL")
    if bad and (bad.get("error") or {}).get("field") != "EndTime":
        problems.append("the invalid booking's rejection does not name EndTime")
    if swept:
        tasks = [t for t in tasks if t["StreamName"] != STREAM]
        streams = sorted(t["StreamName"] for t in tasks)
        every = [
            "room-demo-direct-1",
            "room-demo-direct-2",
            "room-demo-direct-far",
            CALCOM_FIRST,
            CALCOM_MOVED,
            CALENDLY_FIRST,
            CALENDLY_MOVED,
        ]
        if streams != sorted(every):
            problems.append(f"expected exactly one task per valid booking, the emulator holds {streams}")
        live = sorted(t["StreamName"] for t in tasks if t.get("Status") != "deleted")
        if live != sorted(["room-demo-direct-2", "room-demo-direct-far", CALENDLY_MOVED]):
            problems.append(f"cancelled bookings must have no live task; live: {live}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
