"""The rate limiter against the emulator's real per-second limit (real seconds, real threads).

The emulator refuses a CreateRecordTask that arrives when 20 were accepted in the rolling second
before it, and answers `latency` seconds after it counted the call. Rates are taken over the middle of
the run: the first calls replace round trips remembered from earlier tests, the last ones thin out.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from record_task.live import LiveApi
from tests.integration.conftest import KEYS, REGION, actions, planned
from tools.emulator import Emulator

CALLS = 140
THREADS = 30  # a sweep's pool: more callers than the limit, so the limiter, not the callers, sets the pace
RATE = 20.0


@pytest.mark.parametrize("latency", [0.0, 0.1])
def test_threaded_creates_use_the_limit_and_almost_never_meet_it(live_emulator: Emulator, latency: float) -> None:
    live_emulator.set_latency(latency)
    api = LiveApi(
        endpoint=live_emulator.endpoint,
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

    sent = actions(live_emulator).count("CreateRecordTask")
    assert len(live_emulator.tasks) == CALLS  # every call made it, a refused one on a retry
    assert sent - CALLS <= 0.01 * CALLS  # refused by the API's limit, then retried
    middle = sorted(finished)[CALLS // 2 : CALLS - 10]  # past the 3 windows of round trips remembered
    rate = (len(middle) - 1) / (middle[-1] - middle[0])
    assert rate >= 0.9 * RATE, rate  # no upper bound needed: the emulator refuses any overshoot
