"""Shared fixtures: a moto server (local AWS) and the Tencent emulator, both over real HTTP."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings

from tests.schemas import check_published
from tools.local_aws import CREDENTIALS, MotoStack, moto_server

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the moto server's access log
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "RecordTaskTests")
for _name, _value in CREDENTIALS.items():
    os.environ.setdefault(_name, _value)

# Hypothesis profiles, chosen by HYPOTHESIS_PROFILE: `ci` keeps hypothesis' default of 100 examples per
# test (the four fuzz tests run 400 cases in `make test`); `soak` runs 2,500 per test (`make soak`: the
# fuzz tests run 10,000 cases).
settings.register_profile("ci", max_examples=100)
settings.register_profile("soak", max_examples=2500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

EMULATOR_KEYS = {"TENCENTCLOUD_SECRET_ID": "AKIDEMULATOR", "TENCENTCLOUD_SECRET_KEY": "emulator-secret-key"}


class Clock:
    """A settable wall clock shared by the function and the emulator in a test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def stack(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoStack]:
    """Fresh AWS resources for each test, and the environment pointing boto3 at them.

    Every result the test publishes is checked against docs/schemas/result.schema.json: those it reads
    back when it reads them, the rest after it (a failure there is an error of that test)."""
    local = MotoStack(endpoint=moto_endpoint, check=check_published).reset()
    for name, value in local.env().items():
        monkeypatch.setenv(name, value)
    yield local
    local.results()


@pytest.fixture
def clock() -> Clock:
    import time

    return Clock(float(int(time.time())))


@pytest.fixture
def emulator(clock: Clock) -> Iterator[Any]:
    from tools.emulator import start_emulator

    with start_emulator(now=clock) as running:
        yield running


@pytest.fixture
def live_emulator() -> Iterator[Any]:
    """An emulator on real time, for tests of the live adapter and of the emulator itself."""
    from tools.emulator import start_emulator

    with start_emulator() as running:
        yield running


@pytest.fixture
def app_factory(stack: MotoStack, emulator: Any, clock: Clock) -> Callable[..., Any]:
    """Builds the wired function (as handler.py does) against the local stack and the emulator."""
    from record_task.app import build_app

    def make(**overrides: str) -> Any:
        env = {
            **stack.env(),
            **EMULATOR_KEYS,
            "LIVE_ENDPOINT": emulator.endpoint,
            "DEFAULT_DOMAIN_NAME": "5000.live.push.com",
            "LIVE_RETRY_BUDGET_SECONDS": "2",
            "CLAIM_LEASE_SECONDS": "60",
            "CALCOM_WEBHOOK_SECRET": "calcom-test-secret",
            "CALENDLY_WEBHOOK_SECRET": "calendly-test-secret",
            "DIRECT_WEBHOOK_SECRET": "direct-test-secret",
            "TENCENT_CALLBACK_KEY": "tencent-test-key",
            **overrides,
        }
        return build_app(env, clock=clock)

    return make


@pytest.fixture
def app(app_factory: Callable[..., Any]) -> Any:
    """The wired function with the default test settings."""
    return app_factory()
