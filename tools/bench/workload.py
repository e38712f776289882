"""One workload, run as a function container runs it: `python -m tools.bench.workload NAME PARAMS OUT`.

A process of its own for each workload, spawned by tools/bench/throughput.py with the function's
environment, so its rate limiter, clients and peak RSS belong to that workload alone, and the counters
(DynamoDB calls, CPU time) see only the function. It drives the entry points of `handler` the way Lambda
and SQS would, and writes what it measured as JSON to OUT; the function's own log lines go to stdout.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tools.bench import burst
from tools.lambda_events import FakeContext, direct, scheduled_event, sqs_event, sqs_record

HORIZON = 6 * 86400 - 3600  # RECORD_HORIZON_SECONDS' default: a start beyond it is deferred
Params = dict[str, Any]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process (Linux /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """CPU of this process and of the service processes, and the AWS requests made, over a timed part:
    which side of the wire a run was waiting for."""

    def __init__(self, pids: dict[str, int]) -> None:
        import boto3

        self._pids = pids
        self.requests: Counter[str] = Counter()
        boto3.setup_default_session()  # before `handler` builds its clients from it
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.requests[f"{model.service_model.service_name}.{model.name}"] += 1

    def _now(self) -> dict[str, float]:
        return {"function": _cpu_seconds(), **{name: process_cpu_seconds(pid) for name, pid in self._pids.items()}}

    def start(self) -> None:
        self._started, self._cpu, self._requests = time.perf_counter(), self._now(), Counter(self.requests)

    def stop(self) -> dict[str, Any]:
        elapsed, cpu = time.perf_counter() - self._started, self._now()
        return {
            "elapsed": elapsed,
            "cpu": {name: cpu[name] - self._cpu[name] for name in cpu},
            "awsRequests": sum((self.requests - self._requests).values()),
        }


def _handler() -> ModuleType:
    return importlib.import_module("handler")


def _bookings(tag: str, count: int, start: int, stream: str | None = None, spacing: int = 0) -> list[dict[str, Any]]:
    """Hour-long bookings on a stream each, or (`stream`) back to back on one, `spacing` seconds apart."""
    if stream is None:
        return [direct(f"{tag}-{n:04d}", start, start + 3600) for n in range(count)]
    return [
        direct(f"{tag}-{n:04d}", start + n * spacing, start + (n + 1) * spacing, StreamName=stream)
        for n in range(count)
    ]


def drain(params: Params) -> dict[str, Any]:
    """Every booking through `handler.queue` in batches; a listed failure comes back at the end of the
    queue with its receive count + 1, as SQS redelivers it, until `maxReceiveCount` dead-letters it."""
    meter = Meter(params["pids"])
    handler = _handler()
    now = int(time.time())
    max_receives = int(params["max_receive_count"])
    bookings = _bookings(params["tag"], params["count"], now + 3600, params.get("stream"), params.get("spacing", 0))
    pending = deque((body, str(uuid.uuid4()), 1) for body in bookings)
    invocations = redeliveries = dead_lettered = 0
    meter.start()
    while pending:
        batch = [pending.popleft() for _ in range(min(params["batch"], len(pending)))]
        records = [sqs_record(body, message_id=message_id, receive_count=count) for body, message_id, count in batch]
        answer = handler.queue(sqs_event(*records), FakeContext())
        invocations += 1
        failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
        for body, message_id, count in batch:
            if message_id not in failed:
                continue
            if count >= max_receives:
                dead_lettered += 1
            else:
                redeliveries += 1
                pending.append((body, message_id, count + 1))
    return {
        **meter.stop(),
        "invocations": invocations,
        "redeliveries": redeliveries,
        "deadLettered": dead_lettered,
    }


def sweep(params: Params) -> dict[str, Any]:
    """Bookings deferred through `handler.queue` (not timed), then one `handler.sweep` an hour later,
    when every one of them has come within the horizon."""
    meter = Meter(params["pids"])
    handler = _handler()
    now = int(time.time())
    start = now + HORIZON + 1800
    bookings = _bookings(params["tag"], params["count"], start)
    seeded = time.perf_counter()
    for first in range(0, len(bookings), 10):
        answer = handler.queue(sqs_event(*(sqs_record(b) for b in bookings[first : first + 10])), FakeContext())
        if answer["batchItemFailures"]:
            raise RuntimeError(f"seeding deferred bookings failed: {answer}")
    seed_seconds = time.perf_counter() - seeded
    meter.start()
    summary = handler.sweep(scheduled_event(now + 3600), FakeContext(remaining_ms=900_000))
    measured = meter.stop()
    summary.pop("bookingIds", None)
    return {**measured, "seedSeconds": seed_seconds, "summary": summary}


def dynamodb_requests(params: Params) -> dict[str, Any]:
    """DynamoDB calls per booking, counted by a botocore `before-call` hook on the default session,
    registered before `handler` builds its clients: fresh bookings, then each delivered again."""
    import boto3

    from tools.sample_events import signed_direct

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[str(model.name)] += 1

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", count)
    handler = _handler()
    now = int(time.time())
    found: dict[str, list[dict[str, int]]] = {}
    answers: dict[str, list[str]] = {}

    def per_booking(label: str, deliver: Callable[[dict[str, Any]], str], bookings: list[dict[str, Any]]) -> None:
        found[label], answers[label] = [], []
        for body in bookings:
            before = Counter(calls)
            answers[label].append(deliver(body))
            found[label].append(dict(calls - before))

    def by_queue(body: dict[str, Any]) -> str:
        answer = handler.queue(sqs_event(sqs_record(body)), FakeContext())
        return "listed for redelivery" if answer["batchItemFailures"] else "not listed"

    def by_webhook(body: dict[str, Any]) -> str:
        return f"HTTP {handler.webhook(signed_direct(json.dumps(body)), FakeContext())['statusCode']}"

    for transport, deliver in (("queue", by_queue), ("webhook", by_webhook)):
        bookings = _bookings(f"{params['tag']}-{transport}", params["count"], now + 3600)
        per_booking(f"{transport} created", deliver, bookings)
        per_booking(f"{transport} duplicate", deliver, bookings)
    return {"perBooking": found, "answers": {label: sorted(set(seen)) for label, seen in answers.items()}}


def memory(params: Params) -> dict[str, Any]:
    """Peak RSS and CPU time of a container that starts and handles two batches of 10."""
    cpu = _cpu_seconds()
    handler = _handler()
    report: dict[str, Any] = {"importCpu": _cpu_seconds() - cpu, "rssAfterImportMb": _peak_rss_mb(), "batches": []}
    now = int(time.time())
    for batch in range(2):
        bookings = _bookings(f"{params['tag']}-{batch}", 10, now + 3600)
        cpu, started = _cpu_seconds(), time.perf_counter()
        answer = handler.queue(sqs_event(*(sqs_record(b) for b in bookings)), FakeContext())
        wall = time.perf_counter() - started
        report["batches"].append(
            {"wall": wall, "cpu": _cpu_seconds() - cpu, "failed": len(answer["batchItemFailures"])}
        )
    report["peakRssMb"] = _peak_rss_mb()
    return report


WORKLOADS: dict[str, Callable[[Params], dict[str, Any]]] = {
    "burst-webhooks": burst.webhooks,
    "burst-queue": burst.queue,
    "drain": drain,
    "sweep": sweep,
    "dynamodb": dynamodb_requests,
    "memory": memory,
}


if __name__ == "__main__":
    name, raw, out = sys.argv[1:4]
    Path(out).write_text(json.dumps(WORKLOADS[name](json.loads(raw))), encoding="utf-8")
