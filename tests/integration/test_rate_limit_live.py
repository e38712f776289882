"""The rate limiter against the emulator's real per-second limit (real seconds, real threads).

The emulator runs in a process of its own, as the API does, so its work does not queue behind the
client's threads. It refuses a CreateRecordTask that arrives when 20 were accepted in the rolling second
before it, and answers `latency` seconds after counting the call. How close the limiter comes to the
limit is a speed figure, measured by `make bench` (BENCHMARKS.md, the drain), not asserted here: on a
shared 2-core runner a timed bound fails for reasons that are not the limiter's.
"""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from record_task.tencent.api import RecordTaskApi
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


def test_threaded_creates_at_100_ms_all_land_once_each(emulator_process: str) -> None:
    control(emulator_process, "latency", {"seconds": LATENCY})
    api = RecordTaskApi(
        endpoint=emulator_process,
        default_region=REGION,
        credentials=lambda: KEYS,
        rate_per_second=RATE,
        retry_budget_seconds=20.0,  # a refused call is retried well inside it
    )
    requests = [planned(600 + n) for n in range(CALLS)]  # distinct windows, even across a second's turn
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(api.create_record_task, requests))

    sent = [call["Action"] for call in control(emulator_process, "calls")].count("CreateRecordTask")
    tasks = control(emulator_process, "tasks")
    assert len(tasks) == CALLS <= sent  # every call made it, a refused one on a retry
    assert len({(t["StartTime"], t["EndTime"]) for t in tasks}) == CALLS  # and none twice
