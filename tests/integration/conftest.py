"""Fixtures for the live adapter and emulator tests, and the small helpers they share (imported by name)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from record_task.model.tasks import RecordTaskRequest
from record_task.tencent.api import RecordTaskApi
from tools.emulator import Emulator

KEYS = ("AKIDEMULATOR", "emulator-secret-key")
REGION = "ap-singapore"


class FakeTime:
    """A monotonic clock that only sleeping moves: retry budgets are spent in no real time."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def emulator_process() -> Iterator[str]:
    """The emulator in a process of its own (as the real API is): its endpoint, knobs over `/_emulator/`."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tools.emulator", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and f"127.0.0.1:{port}" in process.stdout.readline()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_api(live_emulator: Emulator, fake_time: FakeTime) -> Callable[..., RecordTaskApi]:
    """RecordTaskApi against the emulator with a short budget and fake time; keyword arguments override."""

    def make(**overrides: Any) -> RecordTaskApi:
        options: dict[str, Any] = {
            "endpoint": live_emulator.endpoint,
            "default_region": REGION,
            "credentials": lambda: KEYS,
            "retry_budget_seconds": 3.0,
            "timeout_seconds": 2,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
        }
        return RecordTaskApi(**{**options, **overrides})

    return make


def planned(offset: int = 600, length: int = 3600, **values: Any) -> RecordTaskRequest:
    """A valid request starting `offset` seconds from now."""
    now = int(time.time())
    fields: dict[str, Any] = {
        "stream_name": "livetest",
        "domain_name": "5000.live.push.com",
        "app_name": "live",
        "start_time": now + offset,
        "end_time": now + offset + length,
        "template_id": 0,
        "region": REGION,
        **values,
    }
    return RecordTaskRequest(**fields)


def actions(emulator: Emulator) -> list[str]:
    return [action for action, _ in emulator.calls]
