"""One stack per fuzz test function: the handler module loaded as Lambda loads it, moto and the emulator,
and a record of every result SNS accepted (botocore's `after-call` event), so each hypothesis example
costs a handler call, not a server start."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.conftest import EMULATOR_KEYS, Clock
from tools import sample_events
from tools.lambda_events import FakeContext
from tools.local_aws import MotoStack
from tools.soak.env import load_handler

SECRETS = {
    "CALCOM_WEBHOOK_SECRET": sample_events.CALCOM_SECRET,
    "CALENDLY_WEBHOOK_SECRET": sample_events.CALENDLY_SECRET,
    "DIRECT_WEBHOOK_SECRET": sample_events.DIRECT_SECRET,
}


@dataclass
class Published:
    """Every result message SNS accepted, in order (appended from the queue's worker threads too):
    the message is noted when the call is built and kept once the call succeeded."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def note(self, params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["fuzz_message"] = params["Message"]

    def keep(self, context: dict[str, Any], **kwargs: Any) -> None:
        self.messages.append(json.loads(context["fuzz_message"]))

    def install(self, events: Any) -> None:
        events.register("before-parameter-build.sns.Publish", self.note, unique_id="fuzz-note")
        events.register("after-call.sns.Publish", self.keep, unique_id="fuzz-keep")

    def uninstall(self, events: Any) -> None:
        events.unregister("before-parameter-build.sns.Publish", unique_id="fuzz-note")
        events.unregister("after-call.sns.Publish", unique_id="fuzz-keep")


@dataclass
class Example:
    """What one handler call did: its answer, the results it published, the API calls it made."""

    response: dict[str, Any]
    results: list[dict[str, Any]]
    calls: list[tuple[str, dict[str, Any]]]


@dataclass
class Harness:
    handler: ModuleType
    emulator: Any
    clock: Clock
    published: Published
    cases: int = 0

    def now(self) -> int:
        """Real time, shared with the emulator, read when the example runs."""
        self.clock.now = float(int(time.time()))
        return int(self.clock.now)

    def webhook(self, event: dict[str, Any]) -> Example:
        return self._run(self.handler.webhook, event)

    def queue(self, event: dict[str, Any]) -> Example:
        return self._run(self.handler.queue, event)

    def _run(self, entry: Any, event: dict[str, Any]) -> Example:
        self.cases += 1
        results, calls = len(self.published.messages), len(self.emulator.calls)
        response = entry(event, FakeContext())
        return Example(response, self.published.messages[results:], self.emulator.calls[calls:])


@pytest.fixture
def fuzz(stack: MotoStack, emulator: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    env = {
        **stack.env(),
        **EMULATOR_KEYS,
        **SECRETS,
        "LIVE_ENDPOINT": emulator.endpoint,
        "DEFAULT_DOMAIN_NAME": "5000.live.push.com",
        "LIVE_RETRY_BUDGET_SECONDS": "2",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",  # hypothesis runs thousands of examples: keep the log quiet
        "POWERTOOLS_METRICS_DISABLED": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    published = Published()
    published.install(session.events)
    try:
        harness = Harness(load_handler(), emulator, clock, published)
        yield harness
    finally:
        published.uninstall(session.events)
    print(f"\n{harness.cases} fuzz cases, {len(published.messages)} results, {len(emulator.tasks)} tasks")
