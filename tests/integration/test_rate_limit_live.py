"""The rate limiter against the emulator's real per-second limit (real seconds, real threads).

The emulator runs in a process of its own, as the API does, so its work does not queue behind the
client's threads. It refuses a CreateRecordTask that arrives when 20 were accepted in the rolling second
before it, and answers `latency` seconds after counting the call. The rate is taken over the middle of
the run: the first calls replace round trips remembered from earlier tests, the last ones thin out.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from record_task.live import LiveApi
from tests.integration.conftest import KEYS, REGION, planned

CALLS = 140
THREADS = 30  # a sweep's pool: more callers than the limit, so the limiter, not the callers, sets the pace
RATE = 20.0
LATENCY = 0.1


def control(endpoint: str, path: str, payload: object = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        f"{endpoint}/_emulator/{path}", data=data, method="GET" if data is None else "POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_threaded_creates_at_100_ms_use_the_limit_and_almost_never_meet_it(emulator_process: str) -> None:
    control(emulator_process, "latency", {"seconds": LATENCY})
    api = LiveApi(
        endpoint=emulator_process,
        default_region=REGION,
        credentials=lambda: KEYS,
        rate_per_second=RATE,
        retry_budget_seconds=20.0,  # a refused call is retried well inside it
    )
    finished: list[float] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        api.create_record_task(planned(600 + n))
        with lock:
            finished.append(time.monotonic())

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(create, range(CALLS)))

    sent = [call["Action"] for call in control(emulator_process, "calls")].count("CreateRecordTask")
    assert len(control(emulator_process, "tasks")) == CALLS  # every call made it, a refused one on a retry
    assert sent - CALLS <= 0.01 * CALLS  # refused by the API's limit, then retried
    middle = sorted(finished)[CALLS // 2 : CALLS - 10]  # past the 3 windows of round trips remembered
    rate = (len(middle) - 1) / (middle[-1] - middle[0])
    assert rate >= 0.9 * RATE, rate  # no upper bound needed: the emulator refuses any overshoot
