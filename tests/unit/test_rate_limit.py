"""The rate limiter's arithmetic, on simulated time: where calls arrive at the API, and how many it refuses.

The simulation is a discrete-event model of threads making CreateRecordTask calls through one
`SendWindow`: a call sent at `s` with round trip `L` arrives at `s + share * L` (the outbound share of the
trip is unknown to the client: drawn per run, with per-call noise) and the API refuses an arrival when
it already accepted `limit` in the rolling second before it (as the emulator does); a refused call is
retried after a backoff.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from record_task.errors import ConfigurationError, TransientFailure
from record_task.tencent.rate_limit import MARGIN_FLOOR_SECONDS, RateLimiter, SendWindow

REFUSAL_BOUND = 0.01  # the share of calls the API may refuse (each then retried)


@dataclass
class Outcome:
    calls: int = 0
    sends: int = 0
    refused: int = 0
    accepted_at: list[float] = field(default_factory=list)

    def steady_rate(self, limit: int) -> float:
        """Accepted calls per second after the first burst (which the window lets out at once)."""
        times = sorted(self.accepted_at)
        return (len(times) - limit) / (times[-1] - times[0])


def simulate(
    latencies: list[float], *, threads: int, share: float, noise: float = 0.0, rate: float = 20.0, seed: int = 0
) -> Outcome:
    """Run every call of `latencies` (round trips, in order of first send) from `threads` threads."""
    rng = random.Random(seed)
    window = SendWindow(rate)
    events: list[tuple[float, int, int, str, int]] = []  # (time, priority, sequence, kind, thread)
    counter = iter(range(10**9))
    priority = {"arrive": 0, "answer": 1, "send": 2}

    def schedule(when: float, kind: str, thread: int) -> None:
        heapq.heappush(events, (when, priority[kind], next(counter), kind, thread))

    queue = deque(latencies)
    current: dict[int, float] = {}
    tickets: dict[int, int] = {}
    refused_now: dict[int, bool] = {}
    accepted: deque[float] = deque()
    outcome = Outcome(calls=len(latencies))
    for thread in range(threads):
        schedule(0.0, "send", thread)
    while events:
        now, _, _, kind, thread = heapq.heappop(events)
        if kind == "send":
            if thread not in current:
                if not queue:
                    continue
                current[thread] = queue.popleft()
            pause = window.wait(now)
            if pause > 0:
                schedule(now + pause, "send", thread)
                continue
            tickets[thread] = window.take(now)
            outcome.sends += 1
            trip = current[thread]
            outbound = min(1.0, max(0.0, share + rng.uniform(-noise, noise)))
            schedule(now + outbound * trip, "arrive", thread)
            schedule(now + trip, "answer", thread)
        elif kind == "arrive":
            while accepted and accepted[0] <= now - 1.0:
                accepted.popleft()
            refused_now[thread] = len(accepted) >= window.limit
            if refused_now[thread]:
                outcome.refused += 1
            else:
                accepted.append(now)
                outcome.accepted_at.append(now)
        else:
            window.settle(tickets.pop(thread), now, answered=True)
            if refused_now.pop(thread):
                schedule(now + 0.1 + rng.uniform(0, 0.1), "send", thread)
            else:
                del current[thread]
                schedule(now, "send", thread)
    return outcome


def round_trips(count: int, *, fastest: float, spread: float, outliers: bool, seed: int) -> list[float]:
    """Round trips above a path's floor (`fastest`): uniform jitter up to `spread`, or mostly the floor with
    one in five calls `spread` slower (a busy server, a retransmission)."""
    rng = random.Random(seed)
    if outliers:
        return [fastest + (spread if rng.random() < 0.2 else 0.0) for _ in range(count)]
    return [fastest + rng.uniform(0.0, spread) for _ in range(count)]


@settings(max_examples=40, deadline=None)
@given(
    calls=st.integers(100, 300),
    fastest=st.floats(0.0, 0.15),
    spread=st.floats(0.0, 1.0),  # a share of what is left up to 150 ms
    outliers=st.booleans(),
    threads=st.integers(1, 30),
    share=st.floats(0.0, 1.0),
    noise=st.floats(0.0, 0.1),
    seed=st.integers(0, 2**16),
)
def test_the_api_refuses_at_most_the_stated_share_of_calls_and_all_are_retried(
    calls: int, fastest: float, spread: float, outliers: bool, threads: int, share: float, noise: float, seed: int
) -> None:
    latencies = round_trips(calls, fastest=fastest, spread=spread * (0.15 - fastest), outliers=outliers, seed=seed)
    outcome = simulate(latencies, threads=threads, share=share, noise=noise, seed=seed)
    assert len(outcome.accepted_at) == outcome.calls  # every call made it, refused ones on a retry
    assert outcome.refused <= REFUSAL_BOUND * outcome.calls
    assert outcome.sends == outcome.calls + outcome.refused


def test_a_path_suddenly_faster_than_any_remembered_trip_costs_refusals_that_are_retried() -> None:
    """The limit of the scheme, pinned: slow trips, then a much faster one whose arrival the margin did not
    foresee. The API refuses a few calls, each retried, and the window learns the new floor."""
    latencies = ([0.15] * 80 + [0.002] * 5) * 3
    outcome = simulate(latencies, threads=20, share=1.0)
    assert len(outcome.accepted_at) == outcome.calls and 0 < outcome.refused <= 0.05 * outcome.calls


@settings(max_examples=20, deadline=None)
@given(
    base=st.floats(0.0, 0.15),
    jitter=st.floats(0.0, 0.02),
    share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_steady_latency_costs_almost_no_rate(base: float, jitter: float, share: float, seed: int) -> None:
    """The old scheme's ceiling was rate/(1 + latency): 18.2/s at 100 ms. Pacing by send time is not
    slowed by the latency every call pays, only by its spread."""
    rng = random.Random(seed)
    latencies = [min(0.15, base + rng.uniform(0, jitter)) for _ in range(300)]
    outcome = simulate(latencies, threads=20, share=share, seed=seed)
    assert outcome.refused == 0
    assert outcome.steady_rate(20) >= 20 / (1 + MARGIN_FLOOR_SECONDS + jitter) - 0.05


def test_a_burst_goes_out_at_once_up_to_the_limit() -> None:
    window = SendWindow(3, floor=0.0)
    waits = []
    for _ in range(3):
        waits.append(window.wait(0.0))
        window.take(0.0)
    assert waits == [0.0, 0.0, 0.0]
    assert window.wait(0.0) == pytest.approx(1.0)  # nothing answered yet: unknown trips cost nothing extra


def test_a_slot_is_kept_for_the_round_trip_beyond_the_fastest() -> None:
    window = SendWindow(2, floor=0.0)
    fast, slow = window.take(0.0), window.take(0.0)
    window.settle(fast, 0.1, answered=True)
    window.settle(slow, 0.5, answered=True)
    assert window.margin(0.1) == 0.0 and window.margin(0.5) == pytest.approx(0.4)
    assert window.wait(0.6) == pytest.approx(0.4)  # the fast send frees at 1.0, the slow one at 1.4
    window.take(1.0)
    assert window.wait(1.0) == pytest.approx(0.4)


def test_an_unanswered_call_is_allowed_the_slowest_recent_trip() -> None:
    window = SendWindow(1, floor=0.0)
    for trip in (0.1, 0.3):
        ticket = window.take(10.0 * trip)
        window.settle(ticket, 10.0 * trip + trip, answered=True)
    lost = window.take(5.0)
    window.settle(lost, 10.0, answered=False)  # a timeout: no round trip learned
    assert window.margin(None) == pytest.approx(0.2) and window.wait(5.0) == pytest.approx(1.2)


@pytest.mark.parametrize(("rate", "limit", "window"), [(20.0, 20, 1.0), (0.5, 1, 2.0), (2.5, 2, 0.8)])
def test_fractional_rates_become_a_count_per_window(rate: float, limit: int, window: float) -> None:
    pacing = SendWindow(rate)
    assert pacing.limit == limit and pacing.window == pytest.approx(window)


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_a_rate_that_is_not_positive_is_a_configuration_error(rate: float) -> None:
    with pytest.raises(ConfigurationError, match="rate per instance must be positive"):
        RateLimiter(rate)


class SleepClock:
    """A clock that only sleeping moves, and the sleeps it saw."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def limiter(self, rate: float) -> RateLimiter:
        return RateLimiter(rate, clock=lambda: self.now, sleep=self.sleep, floor=0.0)


def test_threads_wait_on_the_injected_clock() -> None:
    time = SleepClock()
    limiter = time.limiter(2)
    granted = []
    for _ in range(3):
        with limiter.slot() as slot:
            granted.append(time.now)
            slot.answered()
    assert granted == [0.0, 0.0, pytest.approx(1.0)] and time.slept == [pytest.approx(1.0)]


def test_a_bounded_wait_gives_up_at_once_instead_of_sleeping_past_it() -> None:
    """The webhook's budget: a slot further away than `max_wait` is refused without waiting for it."""
    time = SleepClock()
    limiter = time.limiter(2)
    for _ in range(2):
        with limiter.slot(max_wait=0.5) as slot:
            slot.answered()
    with pytest.raises(TransientFailure) as caught, limiter.slot(max_wait=0.5):
        pass
    assert caught.value.code == "RateShareUsedUp" and time.slept == []
    with limiter.slot(max_wait=1.5) as slot:  # within reach: waited for
        slot.answered()
    assert time.slept == [pytest.approx(1.0)]


def test_room_counts_the_sends_that_may_go_now() -> None:
    window = SendWindow(3, floor=0.0)
    assert window.room(0.0) == 3
    window.take(0.0)
    window.take(0.5)
    assert (window.room(0.6), window.room(1.2), window.room(1.6)) == (1, 2, 3)
