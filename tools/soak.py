"""`make soak`: bookings through `handler.queue` while the Tencent API and SNS fail, with SQS simulated.

Proves the promise "every message ends in the right result": exactly one task per booking, no
duplicate, and every booking's terminal result published or its message in the dead-letter queue.
Faults come from `tools/faults.py` (a proxy in front of the emulator; SNS `Publish` failing in the SDK).
`SqsSimulator` is SQS as `handler.queue` meets it: batches of at most ten, only the listed
`batchItemFailures` delivered again (with `ApproximateReceiveCount` + 1, after the visibility timeout),
and a message past `maxReceiveCount` moved to the DLQ. `lambda_timeout` kills an invocation mid-batch
(SIGKILL, as Lambda ends a timed-out run) and redelivers the batch after the claim lease lapsed.

`python -m tools.soak --bookings 1000` runs everything on loopback and prints a summary.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tools.lambda_events import FakeContext, sqs_event, sqs_record

HOUR = 3600
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
EMULATOR_KEYS = {"TENCENTCLOUD_SECRET_ID": "AKIDEMULATOR", "TENCENTCLOUD_SECRET_KEY": "emulator-secret-key"}
# As deployed, a message comes back only after its claim lease lapsed (visibility timeout, 6 x the function
# timeout = 174 s, exceeds CLAIM_LEASE_SECONDS = 120 s, which exceeds one delivery): the soak keeps that
# order at a smaller scale, visibility = lease + 1 s.
LEASE_SECONDS = 8
QueueHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class Message:
    """One SQS message: the booking it carries and how often it was received."""

    message_id: str
    booking_id: str
    stream_name: str
    body: str
    source: str | None = None
    receive_count: int = 0
    visible_at: float = 0.0


@dataclass
class SqsSimulator:
    """SQS redelivery, faithfully enough to prove what `batchItemFailures` promises."""

    handle: QueueHandler
    max_receive_count: int
    visibility_seconds: float = 1.0
    batch_size: int = 10
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    pending: list[Message] = field(default_factory=list)
    dead_letters: list[Message] = field(default_factory=list)
    deliveries: int = 0
    batches: int = 0
    redeliveries: int = 0

    def send(self, messages: Iterable[Message]) -> None:
        self.pending.extend(messages)

    def run(self, *, give_up_after: float = 3600.0) -> None:
        """Deliver until every message was deleted (handled) or moved to the DLQ."""
        deadline = self.clock() + give_up_after
        while self.pending:
            if self.clock() > deadline:
                raise TimeoutError(f"{len(self.pending)} messages still in flight after {give_up_after} s")
            now = self.clock()
            batch = [m for m in self.pending if m.visible_at <= now][: self.batch_size]
            if not batch:
                self.sleep(max(0.0, min(m.visible_at for m in self.pending) - now))
                continue
            self.deliver(batch)

    def deliver(self, batch: list[Message]) -> None:
        for message in batch:
            self.pending.remove(message)
            message.receive_count += 1
        records = [
            sqs_record(m.body, message_id=m.message_id, receive_count=m.receive_count, source=m.source) for m in batch
        ]
        self.batches += 1
        self.deliveries += len(batch)
        response = self.handle(sqs_event(*records), FakeContext(remaining_ms=60_000))
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in batch:
            if message.message_id not in failed:
                continue  # deleted from the queue
            if message.receive_count >= self.max_receive_count:
                self.dead_letters.append(message)
            else:
                message.visible_at = self.clock() + self.visibility_seconds
                self.pending.append(message)
                self.redeliveries += 1


# -- bookings ---------------------------------------------------------------------------------------------------


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


# -- the verdict ------------------------------------------------------------------------------------------------


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


# -- a Lambda timeout in the middle of a batch ------------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    tasks_made: int  # the batch's tasks that existed when the invocation was killed
    while_running: bool  # the invocation had not returned: the kill landed mid-batch


def lambda_timeout(
    env: Mapping[str, str],
    emulator: Any,
    handle: QueueHandler,
    messages: list[Message],
    *,
    lease_seconds: float,
    kill_after_tasks: int = 6,
) -> tuple[Kill, SqsSimulator]:
    """Run one batch in a child process, SIGKILL it once `kill_after_tasks` of its tasks exist, then
    redeliver the whole batch after the claim lease lapsed. With the child's rate limited (e.g.
    `LIVE_API_RATE_PER_SECOND=4` in `env`) and late answers, the kill finds some bookings finished, some
    with a task the ledger does not know yet, and some not started. Returns what the kill met and the
    simulator that redelivered (its DLQ should be empty)."""
    streams = {m.stream_name for m in messages}
    records = [sqs_record(m.body, message_id=m.message_id, source=m.source) for m in messages]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle_file:
        json.dump(sqs_event(*records), handle_file)
    emulator.set_latency(0.4)  # each answer comes late, after the task exists: the kill lands mid-batch
    child = subprocess.Popen(
        [sys.executable, "-m", "tools.soak", "--invoke-queue", handle_file.name],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    made, running = 0, False
    try:
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            made = sum(1 for t in emulator.tasks if t["StreamName"] in streams)
            if made >= kill_after_tasks:
                break
            time.sleep(0.02)
        running = child.poll() is None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        emulator.set_latency(0.0)
        os.unlink(handle_file.name)
    time.sleep(lease_seconds + 1.0)  # Lambda's next delivery comes after the visibility timeout
    redelivery = SqsSimulator(handle, max_receive_count=5, visibility_seconds=lease_seconds)
    for message in messages:
        message.receive_count = 1
    redelivery.send(messages)
    redelivery.run(give_up_after=120)
    return Kill(tasks_made=made, while_running=running), redelivery


def _invoke_queue(path: str) -> int:
    """The child side of `lambda_timeout`: one `handler.queue` invocation, as Lambda makes it."""
    handler = importlib.import_module("handler")
    event = json.loads(Path(path).read_text(encoding="utf-8"))
    print(json.dumps(handler.queue(event, FakeContext())))
    return 0


# -- the whole soak ----------------------------------------------------------------------------------------------


def soak_env(
    stack_env: Mapping[str, str],
    live_endpoint: str,
    *,
    max_receive_count: int = 5,
    lease_seconds: int = LEASE_SECONDS,
) -> dict[str, str]:
    """The function's environment for a soak: short timeouts and lease, so retries happen fast."""
    return {
        **stack_env,
        **EMULATOR_KEYS,
        "LIVE_ENDPOINT": live_endpoint,
        "DEFAULT_DOMAIN_NAME": "5000.live.push.com",
        "MAX_RECEIVE_COUNT": str(max_receive_count),
        "LIVE_TIMEOUT_SECONDS": "1",
        "LIVE_RETRY_BUDGET_SECONDS": str(min(3.0, lease_seconds - 1.5)),  # the lease outlasts a create call
        "CLAIM_LEASE_SECONDS": str(lease_seconds),
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("SOAK_LOG_LEVEL", "ERROR"),
    }


def load_handler() -> ModuleType:
    """Import `handler` (again): it builds its clients and settings at import, as in Lambda."""
    if "handler" in sys.modules:
        return importlib.reload(sys.modules["handler"])
    return importlib.import_module("handler")


class ServerErrors(logging.Filter):
    """Counts, and keeps off the console, the tracebacks the moto server logs for a request it failed
    (the function sees a 500 that botocore retries); with one request at a time there should be none."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "Error on request" in record.getMessage():
            self.count += 1
            return False
        return True


def soak_in_rounds(
    handle: QueueHandler, stack: Any, messages: list[Message], *, visibility_seconds: float, round_size: int = 250
) -> tuple[SqsSimulator, list[dict[str, Any]]]:
    """Deliver `messages` a round at a time, each round on fresh AWS resources; returns the totals and
    every result published.

    Rounds keep moto fast: its `TransactWriteItems` deep-copies every table per transaction, so one table
    of thousands of items makes each transaction seconds long (measured: 1,000 bookings at once had not
    finished after 9 minutes, at 6 GB). Bookings do not interact, so the verdict is the same.
    """
    total = SqsSimulator(handle, max_receive_count=5)
    results: list[dict[str, Any]] = []
    for first in range(0, len(messages), round_size):
        sqs = SqsSimulator(handle, max_receive_count=5, visibility_seconds=visibility_seconds)
        sqs.send(messages[first : first + round_size])
        sqs.run()
        results += stack.results()
        stack.reset()
        total.batches += sqs.batches
        total.deliveries += sqs.deliveries
        total.redeliveries += sqs.redeliveries
        total.dead_letters += sqs.dead_letters
        print(f"  round {first // round_size + 1}: {len(results)} results so far", file=sys.stderr, flush=True)
    return total, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.30)
    parser.add_argument("--publish-fault-rate", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--invoke-queue", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.invoke_queue:
        return _invoke_queue(args.invoke_queue)

    from tools.emulator import start_emulator
    from tools.faults import FaultProxy, PublishFaults
    from tools.local_aws import CREDENTIALS, LocalStack, moto_server

    seed = args.seed if args.seed is not None else int(time.time())
    moto_errors = ServerErrors()
    logging.getLogger("werkzeug").addFilter(moto_errors)
    with ExitStack() as running:
        stack = LocalStack(endpoint=running.enter_context(moto_server())).create()
        emulator = running.enter_context(start_emulator())
        proxy = running.enter_context(FaultProxy(emulator.endpoint, rate=args.fault_rate, seed=seed))
        publish_faults = running.enter_context(PublishFaults(args.publish_fault_rate, seed=seed).installed())
        os.environ.update({**CREDENTIALS, **soak_env(stack.env(), proxy.endpoint)})
        handler = load_handler()
        messages = make_bookings(args.bookings, int(time.time()), f"soak{seed % 100_000}")
        started = time.monotonic()
        sqs, results = soak_in_rounds(handler.queue, stack, messages, visibility_seconds=LEASE_SECONDS + 1)
        report = verify(messages, emulator.tasks, results, sqs.dead_letters)
        print(f"soak: seed {seed}, {time.monotonic() - started:.0f} s, {sqs.batches} batches, "
              f"{sqs.deliveries} deliveries ({sqs.redeliveries} redelivered)")  # fmt: skip
        print(f"faults injected on {proxy.chooser.decisions} Tencent calls: {proxy.injected}")
        print(f"faults injected on {publish_faults.chooser.decisions} SNS publishes: {publish_faults.injected}")
        print(f"moto server errors answered to the function (retried by botocore): {moto_errors.count}")
        print("\n".join(report.lines()))

        proxy.set_rate(0.0)
        publish_faults.chooser.rate = 0.0
        env = {**soak_env(stack.env(), emulator.endpoint, lease_seconds=3), "LIVE_API_RATE_PER_SECOND": "4"}
        batch = make_bookings(10, int(time.time()), f"kill{seed % 100_000}", duplicate_every=0)
        killed, redelivery = lambda_timeout(env, emulator, handler.queue, batch, lease_seconds=3)
        streams = {m.stream_name for m in batch}
        after = verify(batch, emulator.tasks, stack.results(), redelivery.dead_letters, only=streams)
        print(f"lambda timeout: killed after {killed.tasks_made} of 10 tasks, mid-batch: {killed.while_running}")
        print("after redelivery: " + "; ".join(after.lines()))
    problems = [*report.problems, *after.problems]
    problems += [f"{booking}: its result was published more than once" for booking in report.repeated_results]
    problems += [f"in the DLQ after the kill: {m.booking_id}" for m in redelivery.dead_letters]
    if problems:
        print("\nSOAK FAILED:\n  " + "\n  ".join(problems[:50]))
        return 1
    print("\nsoak: every booking ended in exactly one task and one result, or in the DLQ with its reason.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
