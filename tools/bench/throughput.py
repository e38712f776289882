"""Warm work against a slow, rate-limited API: the queue drain, the sweep, DynamoDB calls, memory.

Each workload runs in a process of its own (tools/bench/workload.py) against the shared moto server and
emulator, emptied first. The emulator answers every call 100 ms late and refuses CreateRecordTask beyond
20 calls per rolling second, so 200 bookings can take no less than 10 s and 400 no less than 20 s; how
close the function gets, and how many of its calls the API refused, is what is measured.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.bench.services import ROOT, Services

API_LATENCY = 0.1
API_RATE = 20.0
CREATE = "CreateRecordTask"


@dataclass
class WorkloadRun:
    """One workload's own report, plus what the emulator saw and what the function logged."""

    report: dict[str, Any]
    calls: Counter[str]
    tasks: int
    log_lines: Counter[str] = field(default_factory=Counter)

    @property
    def refused(self) -> int:
        """CreateRecordTask calls that made no task: with valid bookings, only RequestLimitExceeded."""
        return self.calls[CREATE] - self.tasks


def _log_messages(output: str) -> Counter[str]:
    """The function's log lines by message and error code (Powertools writes JSON lines); anything else
    (a Python warning, a traceback) is counted as such, so the summary names what the function said."""
    found: Counter[str] = Counter()
    for line in output.splitlines():
        try:
            entry = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            entry = None
        if isinstance(entry, dict):
            error = f" ({entry['error']})" if entry.get("error") else ""
            message = entry.get("message") or f"(no message; keys {', '.join(sorted(entry)[:3])})"
            found[f"{str(message)[:60]}{error}"] += 1
        elif line.strip():
            found["non-JSON output lines (warnings, tracebacks)"] += 1
    return found


def run_workload(
    services: Services, name: str, params: dict[str, Any], latency: float = API_LATENCY, *, fresh: bool = True
) -> WorkloadRun:
    if fresh:
        services.fresh(latency)
    params = {**params, "pids": services.pids}
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        out = Path(scratch) / "report.json"
        env = services.function_env(**params.pop("env", {}))
        command = [sys.executable, "-m", "tools.bench.workload", name, json.dumps(params), str(out)]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"workload {name!r} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        report = json.loads(out.read_text(encoding="utf-8"))
    calls = Counter(str(call["Action"]) for call in services.emulator.calls())
    tasks = len(services.emulator.tasks())
    return WorkloadRun(report, calls, tasks, _log_messages(done.stdout + done.stderr))


def drain(services: Services, count: int, batch: int) -> WorkloadRun:
    params = {"tag": f"drain{batch}-{uuid.uuid4().hex[:8]}", "count": count, "batch": batch, "max_receive_count": 5}
    return run_workload(services, "drain", params)  # tasks and dead letters are reported, not asserted


def one_stream(services: Services, count: int) -> tuple[WorkloadRun, int]:
    """`count` half-hour bookings back to back on one stream, padded 300 s either side, through the queue
    at once: the run, and the pairs of the stream's tasks that overlap (docs/contract.md, "Streams")."""
    from tools.emulator.streams import Span, overlaps

    params = {"tag": f"stream-{uuid.uuid4().hex[:8]}", "count": count, "batch": 10, "max_receive_count": 5,
              "stream": "studio-bench", "spacing": 1800,
              "env": {"RECORD_LEAD_SECONDS": "300", "RECORD_TAIL_SECONDS": "300"}}  # fmt: skip
    run = run_workload(services, "drain", params)
    found = 0
    for stream in services.emulator.timeline():
        spans = [Span(int(s["Start"]), int(s["End"]), str(s["TaskId"])) for s in stream["Spans"]]
        found += len(overlaps(spans))
    return run, found


def one_stream_row(run: WorkloadRun, overlapping: int, count: int) -> str:
    """The report's row for `one_stream`."""
    elapsed, minimum = run.report["elapsed"], count / API_RATE
    return (
        f"| {count} bookings back to back on one stream at once (300 s padding), through the queue in batches "
        f"of 10 | {elapsed:.1f} s = **{elapsed / minimum:.2f}x** the {minimum:.0f} s minimum at {API_RATE:.0f}/s; "
        f"{run.calls[CREATE]} creates, {run.calls['DeleteRecordTask']} deletes, {run.tasks} tasks; redeliveries "
        f"{run.report['redeliveries']}, dead-lettered {run.report['deadLettered']}; overlapping task pairs: "
        f"**{overlapping}** | no overlap, none dead-lettered | "
        f"{'**met**' if overlapping == 0 and run.report['deadLettered'] == 0 else '**not met**'} |"
    )


def sweep(services: Services, count: int) -> WorkloadRun:
    return run_workload(services, "sweep", {"tag": f"sweep-{uuid.uuid4().hex[:8]}", "count": count})


def dynamodb_requests(services: Services, count: int) -> dict[str, dict[str, Any]]:
    """Per transport and case: median requests per booking, and the median booking's operations."""
    run = run_workload(services, "dynamodb", {"tag": f"ddb-{uuid.uuid4().hex[:8]}", "count": count}, latency=0.0)
    found: dict[str, dict[str, Any]] = {}
    for label, bookings in run.report["perBooking"].items():
        totals = [sum(operations.values()) for operations in bookings]
        typical = sorted(bookings, key=lambda operations: sum(operations.values()))[len(bookings) // 2]
        found[label] = {
            "median": statistics.median(totals),
            "min": min(totals),
            "max": max(totals),
            "operations": dict(sorted(typical.items())),
            "answers": run.report["answers"][label],
        }
    return found


def memory(services: Services) -> WorkloadRun:
    return run_workload(services, "memory", {"tag": f"rss-{uuid.uuid4().hex[:8]}"})


@dataclass
class BurstRun:
    """Webhooks answered, and how long until every booking had its task (None: not within the limit)."""

    answers: Counter[str]
    send_seconds: float
    all_tasks_seconds: float | None
    tasks: int
    bookings: int
    streams: int  # distinct streams among the tasks: one per booking, so tasks - streams are duplicates


def burst(services: Services, count: int, seconds: float) -> BurstRun:
    """`count` webhooks in `seconds` with the webhook fleet's concurrency (10) and share (0.2 of the API's
    20/s), while a consumer with the queue fleet's share (0.4) drains what they queued."""
    services.fresh(API_LATENCY)
    tag = f"burst-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as scratch, ThreadPoolExecutor(1) as consumer:
        expected = Path(scratch) / "expected"
        queue_params = {"queue_url": services.stack.queue_url, "expected_file": str(expected), "give_up_after": 300,
                        "emulator": services.emulator.endpoint, "env": {"LIVE_RATE_SHARE": "0.4"}}  # fmt: skip
        drained = consumer.submit(run_workload, services, "burst-queue", queue_params, fresh=False)
        hook_params = {"tag": tag, "count": count, "seconds": seconds, "env": {"LIVE_RATE_SHARE": "0.2"}}
        accepted = 0  # a failed burst still releases the consumer
        try:
            sent = run_workload(services, "burst-webhooks", hook_params, fresh=False)
            accepted = sum(n for answer, n in sent.report["answers"].items() if answer.startswith(("201", "202")))
        finally:
            expected.write_text(str(accepted), encoding="utf-8")
        done = drained.result()
    tasks = services.emulator.tasks()
    done_at = done.report["doneAt"]
    return BurstRun(
        answers=Counter(sent.report["answers"]),
        send_seconds=sent.report["sendSeconds"],
        all_tasks_seconds=None if done_at is None else done_at - sent.report["started"],
        tasks=len(tasks),
        bookings=count,
        streams=len({task["StreamName"] for task in tasks}),
    )
