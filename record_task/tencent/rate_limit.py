"""The rate limiter: at most `rate` CreateRecordTask calls in any rolling second as the API counts them.

The API counts a call when it arrives, an unknown share of the round trip after it was sent. Holding a
slot for the whole call plus a second is exact but caps the rate at rate/(1 + latency); instead a send
keeps its slot for a second plus only the part of its round trip that other calls may not pay (its
round trip less the fastest one seen lately), plus a small floor. Refusals that slip through are retried
by the adapter. Design and measurements: docs/live-adapter.md.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from record_task.errors import ConfigurationError, TransientFailure

MARGIN_FLOOR_SECONDS = 0.02  # jitter in the outbound share of a round trip (10 % of 150 ms) and the API's rounding
SAMPLES_PER_SLOT = 3  # round trips remembered: three windows at the full rate


@dataclass
class _Send:
    sent: float
    round_trip: float | None = None  # known once answered
    settled: bool = False  # answered, or failed without an answer


class SendWindow:
    """The limiter's arithmetic on a given clock, without threads: tests and simulations drive it directly.

    A send blocks one of `limit` slots until `sent + window + floor + allowance - fastest`, where the
    allowance is its own round trip once answered, else the slowest recent one, and `fastest` is the
    fastest recent round trip: the latency every call pays moves all arrivals alike and costs no rate.
    """

    def __init__(self, rate: float, *, floor: float = MARGIN_FLOOR_SECONDS) -> None:
        if rate <= 0:
            raise ConfigurationError(f"the API rate per instance must be positive, got {rate}")
        self.limit = max(1, int(rate))
        self.window = self.limit / rate
        self.floor = floor
        self._sends: dict[int, _Send] = {}
        self._next_ticket = 0
        self._round_trips: deque[float] = deque(maxlen=SAMPLES_PER_SLOT * self.limit)

    def margin(self, round_trip: float | None) -> float:
        """The time past `window` a send with this round trip (None: unknown) keeps its slot."""
        fastest = min(self._round_trips, default=0.0)
        allowance = max(self._round_trips, default=0.0) if round_trip is None else round_trip
        return self.floor + max(0.0, allowance - fastest)

    def wait(self, now: float) -> float:
        """Seconds until a send may go; 0 when one may go now."""
        blocking = self._blocking(now)
        if len(blocking) < self.limit:
            return 0.0
        return blocking[len(blocking) - self.limit] - now

    def room(self, now: float) -> int:
        """How many sends may go at `now`."""
        return max(0, self.limit - len(self._blocking(now)))

    def take(self, now: float) -> int:
        """Record a send made at `now`; the ticket settles it later."""
        self._forget(now)
        ticket = self._next_ticket
        self._next_ticket += 1
        self._sends[ticket] = _Send(sent=now)
        return ticket

    def settle(self, ticket: int, now: float, *, answered: bool) -> None:
        """The call ended: with an answer (its round trip is measured) or without one (its arrival is unknown)."""
        send = self._sends.get(ticket)
        if send is None:
            return
        send.settled = True
        if answered:
            send.round_trip = now - send.sent
            self._round_trips.append(send.round_trip)

    def _blocking(self, now: float) -> list[float]:
        return sorted(free for free in map(self._free_at, self._sends.values()) if free > now)

    def _free_at(self, send: _Send) -> float:
        return send.sent + self.window + self.margin(send.round_trip)

    def _forget(self, now: float) -> None:
        """Drop settled sends that no later sample can make blocking again (even a zero fastest trip)."""
        slowest = max(self._round_trips, default=0.0)
        for ticket, send in list(self._sends.items()):
            allowance = slowest if send.round_trip is None else send.round_trip
            if send.settled and send.sent + self.window + self.floor + allowance <= now:
                del self._sends[ticket]


class RateLimiter:
    """A `SendWindow` shared by threads: each CreateRecordTask attempt is made inside `slot()`."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        floor: float = MARGIN_FLOOR_SECONDS,
    ) -> None:
        self._window = SendWindow(rate, floor=floor)
        self._clock = clock
        self._sleep = sleep
        self._changed = threading.Condition()
        self._sleeping = False  # one thread waits on the clock; the others wait for it to be done

    @contextmanager
    def slot(self, max_wait: float | None = None) -> Iterator[Slot]:
        """Wait for a slot (at most `max_wait` seconds, else `RateShareUsedUp`), then hold it for the call
        made inside; the caller marks an answered call."""
        ticket = self._take(None if max_wait is None else self._clock() + max_wait)
        held = Slot(clock=self._clock)
        try:
            yield held
        finally:
            with self._changed:
                ended = held.answered_at if held.answered_at is not None else self._clock()
                self._window.settle(ticket, ended, answered=held.answered_at is not None)

    def free_within(self, seconds: float) -> bool:
        """Whether a slot is free now or within `seconds` (nothing is taken)."""
        with self._changed:
            return self._window.wait(self._clock()) <= seconds

    def _take(self, give_up_at: float | None) -> int:
        while True:
            with self._changed:
                while self._sleeping:
                    self._changed.wait()
                now = self._clock()
                pause = self._window.wait(now)
                if pause <= 0:
                    ticket = self._window.take(now)
                    self._changed.notify(1 + self._window.room(now))  # those who may go now, and the next watcher
                    return ticket
                if give_up_at is not None and now + pause > give_up_at:
                    self._changed.notify()  # the next waiter watches the clock instead
                    raise TransientFailure("this instance's share of the API rate is used up", code="RateShareUsedUp")
                self._sleeping = True
            try:
                self._sleep(pause)
            finally:
                with self._changed:
                    self._sleeping = False
                    self._changed.notify()


class Slot:
    """One held slot: whether the call was answered (a round trip to learn from)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.answered_at: float | None = None
        self._clock = clock

    def answered(self) -> None:
        """Call as soon as the answer is in: the round trip ends here, not after its processing."""
        self.answered_at = self._clock()


_limiters: dict[float, RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(rate: float) -> RateLimiter:
    """The process's limiter for `rate`: every RecordTaskApi at that rate draws from the same slots."""
    with _limiters_lock:
        if rate not in _limiters:
            _limiters[rate] = RateLimiter(rate)
        return _limiters[rate]
