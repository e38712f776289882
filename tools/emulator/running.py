"""A running emulator: its endpoint, its ledgers, and the knobs tests turn, over the state the HTTP server
answers from (`start_emulator` runs both on background threads of this process)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tools.emulator.callbacks import SentCallback
from tools.emulator.server import EmulatorServer, make_handler
from tools.emulator.state import LiveState
from tools.emulator.streams import Span, Stream, missed_recordings, timeline


class Emulator:
    """A running emulator: its endpoint, its ledger, and the knobs tests turn."""

    def __init__(self, state: LiveState, server: EmulatorServer) -> None:
        self._state = state
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="tencent-live-emulator", daemon=True
        )
        host, port = server.server_address[:2]
        self.endpoint = f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> Emulator:
        self._thread.start()
        return self

    @property
    def tasks(self) -> list[dict[str, Any]]:
        """Every task ever created, in creation order, with its Status."""
        return self._state.tasks()

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every API request received, as (Action, params), dropped and refused ones included."""
        return self._state.calls()

    @property
    def page_size(self) -> int:
        return self._state.record_tasks.page_size

    @page_size.setter
    def page_size(self, size: int) -> None:
        self._state.record_tasks.page_size = max(1, size)

    def set_latency(self, seconds: float) -> None:
        self._state.latency = seconds

    def inject(self, action: str, code: str, times: int = 1, after: int = 0) -> None:
        self._state.inject(action, code, times, after)

    def drop_connections(self, action: str, times: int = 1, *, processed: bool = False) -> None:
        self._state.drop_connections(action, times, processed=processed)

    def set_clock(self, epoch: float | None) -> None:
        self._state.set_clock(epoch)
        self._state.callbacks.after_request()  # automatic callbacks: recordings that ended by then

    def hold_rate_limit(self, seconds: float) -> None:
        self._state.hold_rate_limit(seconds)

    def hold_answers(self) -> None:
        """Carry every call out but answer none until `release_answers` (at most two minutes): a caller
        is caught mid-call however slow the host, as `lambda_timeout` needs."""
        self._state.hold_answers()

    def release_answers(self) -> None:
        self._state.release_answers()

    def revoke_key(self, code: str = "AuthFailure.SecretIdNotFound") -> None:
        """Answer every signed call with `code` (AuthFailure.SecretIdNotFound or .SignatureFailure), as the
        real API answers a key deleted or disabled in the console, until `restore_key`."""
        self._state.keys.revoke(code)

    def restore_key(self) -> None:
        self._state.keys.restore()

    # -- streams (tools/emulator/streams.py) -----------------------------------------------------------------

    def timeline(self) -> dict[Stream, list[Span]]:
        """Per stream, the tasks that count (not deleted; a stopped one up to its stop), sorted by start."""
        return timeline(self._state.tasks())

    def missed_recordings(self) -> dict[Stream, list[Span]]:
        """Per stream, the seconds of each task the platform would not record, being past three at once."""
        return missed_recordings(self._state.tasks())

    # -- recording callbacks (tools/emulator/callbacks.py) ----------------------------------------------------

    def configure_callbacks(self, url: str | None, key: str = "", *, automatic: bool = False) -> None:
        """POST recording callbacks to `url` signed with `key`; `automatic`: also for every task whose
        recording has ended, checked after each API call and clock change."""
        self._state.callbacks.configure(url, key, automatic=automatic)

    def send_recording_callbacks(
        self, task_id: str, *, files: int = 1, statuses: tuple[str, ...] = ("start", "end")
    ) -> list[SentCallback]:
        """One task's callbacks now (statuses: start, fail, pause, resume, error, end, abnormal)."""
        return self._state.callbacks.send(task_id, files=files, statuses=statuses)

    def finish_recordings(self) -> list[SentCallback]:
        """Start, a file and end for every task whose recording has ended and was not reported yet."""
        return self._state.callbacks.finish()

    def deliver_callback(self, body: dict[str, Any]) -> SentCallback:
        """POST a body again as it was (a redelivery), or sign a new one now."""
        return self._state.callbacks.deliver(body)

    @property
    def sent_callbacks(self) -> list[SentCallback]:
        return self._state.callbacks.sent

    def reset(self) -> None:
        """Forget tasks, calls, knobs (the key is restored) and callback settings."""
        self._state.reset()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(
    *,
    secret_id: str = "AKIDEMULATOR",
    secret_key: str = "emulator-secret-key",
    host: str = "127.0.0.1",
    port: int = 0,
    now: Callable[[], float] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Emulator:
    """Start an emulator on background threads; `port=0` picks a free port. `now` is the rules' clock,
    `monotonic` the per-second limit's and `sleep` how a late answer waits (tests pass their own)."""
    state = LiveState(secret_id, secret_key, now, monotonic=monotonic, sleep=sleep)
    return Emulator(state, EmulatorServer((host, port), make_handler(state))).start()
