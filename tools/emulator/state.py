"""What the emulator remembers besides its tasks, and how one request is answered: the signature, the
version, action and region, injected faults, unknown parameters, then the action's rules.

Knobs a test (or another process, over `/_emulator/`) turns: the rules' clock, injected error codes,
dropped connections, late answers, answers held until released, a held rate limit and a revoked key.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tools.emulator.auth import Keys, verify
from tools.emulator.callbacks import RecordingCallbacks
from tools.emulator.protocol import ACTION_PARAMS, REGIONS, VERSION, ApiError, params
from tools.emulator.rules import CreateLimit, RecordTasks

HOLD_LIMIT_SECONDS = 120.0  # a hold nobody released ends by itself: a forgotten knob must not hang a run


class LiveState:
    """Everything the emulator remembers; every method is safe to call from any thread."""

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        now: Callable[[], float] | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.keys = Keys(secret_id, secret_key)
        self._now = now
        self.sleep = sleep
        self._lock = threading.Lock()
        self._clock: float | None = None
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._faults: dict[str, deque[str | None]] = {}
        self._drops: dict[str, deque[bool]] = {}
        self.latency = 0.0
        self._released = threading.Event()
        self._released.set()
        self.record_tasks = RecordTasks(self.now, CreateLimit(monotonic))
        self.callbacks = RecordingCallbacks(self.tasks, self.now)

    # -- knobs ----------------------------------------------------------------------------------------

    def now(self) -> float:
        """The time the API rules use: a set clock, else the `now` given at start, else real time."""
        if self._clock is not None:
            return self._clock
        return self._now() if self._now is not None else time.time()

    def set_clock(self, epoch: float | None) -> None:
        self._clock = epoch

    def inject(self, action: str, code: str, times: int = 1, after: int = 0) -> None:
        """After `after` calls of `action` answered normally, the next `times` answer `code` (replacing
        what was pending; `times=0` clears)."""
        with self._lock:
            self._faults[action] = deque([None] * after + [code] * times) if times else deque()

    def drop_connections(self, action: str, times: int = 1, *, processed: bool = False) -> None:
        """The next `times` calls of `action` get no answer: the socket is closed, after carrying the
        request out when `processed` (an answer lost on the way back) or before (lost on the way in)."""
        with self._lock:
            self._drops[action] = deque([processed] * times)

    def hold_rate_limit(self, seconds: float) -> None:
        self.record_tasks.limit.hold(seconds)

    def hold_answers(self) -> None:
        """From now on every call is carried out but not answered until `release_answers`: a caller that
        waits that long is caught mid-call, whatever the host's speed."""
        self._released.clear()

    def release_answers(self) -> None:
        self._released.set()

    def wait_for_release(self) -> None:
        self._released.wait(timeout=HOLD_LIMIT_SECONDS)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._drops.clear()
            self._clock = None
            self.latency = 0.0
        self._released.set()
        self.keys.restore()
        self.record_tasks.reset()
        self.callbacks.reset()  # outside the lock: the callbacks take theirs, then read the tasks

    def tasks(self) -> list[dict[str, Any]]:
        return self.record_tasks.snapshot()

    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return [(action, dict(params)) for action, params in self._calls]

    def record(self, action: str, params: dict[str, Any]) -> bool | None:
        """Log a received call; None, or whether its drop happens after processing."""
        with self._lock:
            self._calls.append((action, dict(params)))
            pending = self._drops.get(action)
            return pending.popleft() if pending else None

    # -- the request ----------------------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """The `Response` object for one API request, as the real service would build it."""
        verify(self.keys, method, path, headers, body)
        if headers.get("x-tc-version") != VERSION:
            raise ApiError("NoSuchVersion", f"the API version {headers.get('x-tc-version')!r} does not exist")
        action = headers.get("x-tc-action", "")
        if action not in ACTION_PARAMS:
            raise ApiError("InvalidAction", f"the action {action!r} does not exist")
        region = headers.get("x-tc-region", "")
        if not region:
            raise ApiError("MissingParameter", "the parameter `Region` is missing")
        if region not in REGIONS:
            raise ApiError("UnsupportedRegion", f"{action} does not support the region {region!r}")
        with self._lock:
            pending = self._faults.get(action)
            injected = pending.popleft() if pending else None
        if injected is not None:
            raise ApiError(injected, f"injected by the emulator for {action}")
        found = params(body)
        unknown = sorted(set(found) - ACTION_PARAMS[action])
        if unknown:
            raise ApiError("UnknownParameter", f"the parameter `{unknown[0]}` is not recognized by {action}")
        return self.record_tasks.run(action, region, found)
