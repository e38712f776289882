"""`make bench`: the numbers the issues ask for, measured on this machine.

1. Cold import of `handler` (and of the live adapter) against a bare `import boto3`: fresh
   interpreters, interleaved runs, medians.
2. One SQS batch of 10 bookings through `handler.queue` with 100 ms of emulator latency per call.
3. One sweep activating N due bookings against the emulator's 20 requests/second limit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import EMULATOR_KEYS
from tools.lambda_events import FakeContext, direct, sqs_event, sqs_record
from tools.local_aws import CREDENTIALS, LocalStack, free_port

ROOT = Path(__file__).resolve().parent.parent
DAY = 24 * 3600


@contextmanager
def separate_moto_server() -> Iterator[str]:
    """moto in its own process, as AWS would be: the function's threads do not share its GIL."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def cold_imports(runs: int) -> dict[str, float]:
    env = {
        **os.environ,
        **CREDENTIALS,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "TENCENTCLOUD_SECRET_ID": "x",
        "TENCENTCLOUD_SECRET_KEY": "y",
    }
    statements = {
        "python -c pass": "pass",
        "import boto3": "import boto3",
        "import record_task.live": "import record_task.live",
        "adapter + SDK CommonClient (used)": "import record_task.live; from tencentcloud.common import common_client",
        "adapter + SDK LiveClient (not used)": "import record_task.live; "
        "from tencentcloud.live.v20180801 import live_client",
        "import handler (everything built)": "import handler",
    }
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(runs):
        for name, statement in statements.items():  # interleaved, so machine noise hits all alike
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=env, check=True)
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def batch_of_ten(endpoint: str, latency: float, batches: int) -> list[float]:
    from tools.emulator import start_emulator

    timings = []
    with start_emulator() as emulator:
        stack = LocalStack(endpoint=endpoint).reset()
        os.environ.update(
            {
                **stack.env(),
                **EMULATOR_KEYS,
                "LIVE_ENDPOINT": emulator.endpoint,
                "DEFAULT_DOMAIN_NAME": "bench.push",
                "POWERTOOLS_TRACE_DISABLED": "1",
                "POWERTOOLS_LOG_LEVEL": "ERROR",
                "POWERTOOLS_METRICS_DISABLED": "1",
            }
        )
        handler = importlib.reload(importlib.import_module("handler"))  # built against this emulator
        emulator.set_latency(latency)
        now = int(time.time())
        for batch in range(batches):
            records = [sqs_record(direct(f"bench-{latency}-{batch}-{n}", now + 3600, now + 7200)) for n in range(10)]
            started = time.perf_counter()
            response = handler.queue(sqs_event(*records), FakeContext())
            timings.append(time.perf_counter() - started)
            assert response == {"batchItemFailures": []}, response
        assert len(emulator.tasks) == 10 * batches
    return timings


def sweep(endpoint: str, count: int) -> tuple[float, dict[str, object]]:
    from record_task.app import build_app
    from tools.emulator import start_emulator

    class Clock:
        now = float(int(time.time()))

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    with start_emulator(now=clock) as emulator:
        stack = LocalStack(endpoint=endpoint).reset()
        os.environ.update({**stack.env(), "POWERTOOLS_LOG_LEVEL": "ERROR"})
        app = build_app(
            {**stack.env(), **EMULATOR_KEYS, "LIVE_ENDPOINT": emulator.endpoint, "DEFAULT_DOMAIN_NAME": "bench.push"},
            clock=clock,
        )
        start = int(clock.now) + 21 * DAY
        from record_task.booking import Booking, StreamFields

        for n in range(count):
            b = Booking(
                booking_id=f"far-{n}",
                source="direct",
                start_time=start + n,
                end_time=start + 3600,
                stream=StreamFields(stream_name=f"far-{n}"),
            )
            assert app.decision.handle(b, int(clock.now)).primary.status == "deferred"
        clock.now = start - DAY
        started = time.perf_counter()
        summary = app.sweeper.run(int(clock.now), "", lambda: 900 - (time.perf_counter() - started))
        elapsed = time.perf_counter() - started
        assert len(emulator.tasks) == count, len(emulator.tasks)
        return elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--import-runs", type=int, default=15)
    parser.add_argument("--sweep", type=int, default=1000, help="due bookings in the sweep benchmark")
    args = parser.parse_args()

    print("cold import, median of", args.import_runs, "fresh interpreters (ms):")
    for name, ms in cold_imports(args.import_runs).items():
        print(f"  {name:<36} {ms:7.0f}")

    with separate_moto_server() as endpoint:
        baseline = batch_of_ten(endpoint, latency=0.0, batches=5)
        timings = batch_of_ten(endpoint, latency=0.1, batches=5)
        elapsed, summary = sweep(endpoint, args.sweep)
    print(
        "SQS batch of 10 at 0 ms emulator latency (s): "
        + ", ".join(f"{t:.2f}" for t in baseline)
        + f"  median {statistics.median(baseline):.2f}"
    )
    print(
        "SQS batch of 10 at 100 ms emulator latency (s): "
        + ", ".join(f"{t:.2f}" for t in timings)
        + f"  median {statistics.median(timings):.2f}"
    )

    print(
        f"sweep of {args.sweep} due bookings at the emulator's 20 req/s: {elapsed:.1f} s "
        f"({args.sweep / elapsed:.1f} tasks/s) {json.dumps({k: v for k, v in summary.items() if k != 'bookingIds'})}"
    )


if __name__ == "__main__":
    main()
