"""`make bench`: the performance figures of the issue, measured in one run, printed and written to
BENCHMARKS.md.

AWS (moto) and the Tencent emulator run in processes of their own; every function run is a fresh
process, so what is timed is the function's own cost. Compared jobs are interleaved (A, B, A, B, ...)
so that a shared machine's noise falls on all of them alike; progress goes to stderr, the report to
stdout and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tools.bench import cold, throughput
from tools.bench.report import Measurements, render
from tools.bench.services import ROOT, running_services


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold-runs", type=int, default=11, help="interleaved rounds of the cold jobs (>= 9)")
    # Against moto a drain takes about a minute and a sweep several (BENCHMARKS.md says why): these counts
    # keep `make bench` near 10 minutes on 2 cores; those figures are ratios to a fixed minimum.
    parser.add_argument("--drain-runs", type=int, default=9, help="runs of the 200-booking drain")
    parser.add_argument("--sequential-runs", type=int, default=3, help="runs of the one-at-a-time baseline")
    parser.add_argument("--sweep-runs", type=int, default=9, help="runs of the 400-booking sweep")
    parser.add_argument("--drain", type=int, default=200, help="bookings in the drain")
    parser.add_argument("--sweep", type=int, default=400, help="due bookings in the sweep")
    parser.add_argument("--stream", type=int, default=100, help="bookings back to back on one stream")
    parser.add_argument("--burst", type=int, default=300, help="webhooks in the 3-second burst")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()

    started = time.monotonic()
    machine = {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": _load(),
    }
    with running_services() as services:
        _say(f"cold starts: {args.cold_runs} interleaved rounds of {len(cold.JOBS)} jobs")
        cold_results = cold.measure(services, args.cold_runs)
        _say("DynamoDB requests per booking")
        dynamodb = throughput.dynamodb_requests(services, 10)
        _say("peak RSS, two batches of 10")
        measured = Measurements(machine, cold_results, dynamodb, throughput.memory(services))
        measured.drain_count, measured.sweep_count = args.drain, args.sweep
        _say(f"one stream: {args.stream} bookings back to back")
        shared, overlapping = throughput.one_stream(services, args.stream)
        measured.streams.append(throughput.one_stream_row(shared, overlapping, args.stream))
        _say(f"burst: {args.burst} webhooks in 3 s")
        measured.bursts.append(throughput.burst(services, args.burst, 3.0))
        for run in range(max(args.drain_runs, args.sequential_runs, args.sweep_runs)):
            if run < args.drain_runs:
                _say(f"drain run {run + 1}: {args.drain} bookings in batches of 10")
                measured.drains.append(throughput.drain(services, args.drain, 10))
            if run < args.sequential_runs:
                _say(f"sequential baseline run {run + 1}: {args.drain} bookings one at a time")
                measured.sequential.append(throughput.drain(services, args.drain, 1))
            if run < args.sweep_runs:
                _say(f"sweep run {run + 1}: {args.sweep} due bookings")
                measured.sweeps.append(throughput.sweep(services, args.sweep))
    machine["load_after"] = _load()
    measured.seconds = time.monotonic() - started
    text = render(measured)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    _say(f"wrote {args.output} in {measured.seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
