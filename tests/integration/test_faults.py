"""Every message ends in the right result while the Tencent API and SNS fail (the small `make soak`).

The handler module is loaded as Lambda loads it, against moto and the emulator behind the fault proxy
of `tools/faults.py`; SQS redelivery is `tools/soak/sqs.py`. `make soak` runs the same with
1,000 bookings (`python -m tools.soak`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tools.faults import FAULT_KINDS, FaultProxy, PublishFaults
from tools.lambda_events import FakeContext, sqs_event, sqs_record
from tools.local_aws import MotoStack
from tools.soak.env import load_handler, soak_env
from tools.soak.kill import lambda_timeout
from tools.soak.sqs import Message, SqsSimulator
from tools.soak.verdict import verify
from tools.soak.workload import make_bookings

SEED = 20261127


LEASE = 4  # seconds; redelivery comes one second after it lapsed, as the deployed queue orders them


@pytest.fixture
def proxy(emulator: Any) -> Iterator[FaultProxy]:
    with FaultProxy(emulator.endpoint, rate=0.0, seed=SEED) as running:
        yield running


def _load(stack: MotoStack, endpoint: str, monkeypatch: pytest.MonkeyPatch, **extra: str) -> Any:
    for name, value in {**soak_env(stack.env(), endpoint, lease_seconds=LEASE), **extra}.items():
        monkeypatch.setenv(name, value)
    return load_handler()


def _messages(count: int, run: str, **options: Any) -> list[Message]:
    return make_bookings(count, int(time.time()), run, **options)


# -- one fault at a time: each kind is retried into exactly one task -----------------------------------------------


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind_on_the_first_call_still_ends_in_one_task_and_one_result(
    kind: str, stack: MotoStack, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultProxy(emulator.endpoint, rate=0.0, script=[kind]) as proxy:
        handler = _load(stack, proxy.endpoint, monkeypatch)
        messages = _messages(1, f"one-{kind.replace('.', '-').replace('_', '-').lower()}", duplicate_every=0)
        sqs = SqsSimulator(handler.queue, max_receive_count=5, visibility_seconds=0.1)
        sqs.send(messages)
        sqs.run(give_up_after=60)
    assert proxy.injected == {kind: 1}
    report = verify(messages, emulator.tasks, stack.results(), sqs.dead_letters)
    assert report.problems == [] and report.tasks == 1 and not sqs.dead_letters


def test_a_failing_publish_is_sent_again_on_redelivery_without_a_second_task(
    stack: MotoStack, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = PublishFaults(rate=1.0)
    with faults.installed():
        handler = _load(stack, emulator.endpoint, monkeypatch)
        messages = _messages(1, "publish", duplicate_every=0)
        record = sqs_record(messages[0].body, message_id="m-1")
        assert handler.queue(sqs_event(record), FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
        faults.chooser.rate = 0.0
        assert handler.queue(sqs_event({**record, "attributes": {"ApproximateReceiveCount": "2"}}), FakeContext()) == {
            "batchItemFailures": []
        }
    assert sum(faults.injected.values()) == 1
    report = verify(messages, emulator.tasks, stack.results(), [])
    assert report.problems == [] and report.tasks == 1


def test_two_copies_redelivered_together_after_a_failed_publish_publish_the_result_once(
    stack: MotoStack, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = PublishFaults(rate=0.0, script=["InternalError"], delay_seconds=0.5)  # slow: both copies read first
    with faults.installed():
        handler = _load(stack, emulator.endpoint, monkeypatch)
        messages = _messages(1, "twice", duplicate_every=1)  # the same booking message, sent twice
        sqs = SqsSimulator(handler.queue, max_receive_count=5, visibility_seconds=0.0)
        sqs.send(messages)
        sqs.run(give_up_after=60)
    assert faults.injected == {"InternalError": 1} and sqs.batches >= 2
    report = verify(messages, emulator.tasks, stack.results(), sqs.dead_letters)
    assert report.problems == [] and report.tasks == 1
    assert report.repeated_results == []


# -- the soak, small ---------------------------------------------------------------------------------------------


def test_soak_every_booking_ends_in_one_task_and_its_result_or_the_dlq(
    stack: MotoStack, proxy: FaultProxy, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy.set_rate(0.30)
    publish_faults = PublishFaults(rate=0.10, seed=SEED)
    with publish_faults.installed():
        handler = _load(stack, proxy.endpoint, monkeypatch)
        messages = _messages(60, "small")
        sqs = SqsSimulator(handler.queue, max_receive_count=5, visibility_seconds=LEASE + 1)
        sqs.send(messages)
        sqs.run(give_up_after=300)
    report = verify(messages, emulator.tasks, stack.results(), sqs.dead_letters)
    summary = "\n".join([*report.lines(), f"faults {proxy.injected}, publish faults {publish_faults.injected}"])
    assert report.problems == [], summary
    assert report.bookings == 60 and report.duplicates == 0 and not report.lost
    assert sum(proxy.injected.values()) >= 10 and sum(publish_faults.injected.values()) >= 1, summary
    assert sqs.redeliveries > 0  # the faults really reached handler.queue's answer


def test_a_lambda_killed_mid_batch_is_recovered_on_redelivery_with_one_task_per_booking(
    stack: MotoStack, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**soak_env(stack.env(), emulator.endpoint, lease_seconds=2), "LIVE_API_RATE_PER_SECOND": "4"}
    handler = _load(stack, emulator.endpoint, monkeypatch)
    batch = _messages(10, "kill", duplicate_every=0)
    killed, redelivery = lambda_timeout(env, emulator, handler.queue, batch, lease_seconds=2)
    results = stack.results()
    report = verify(batch, emulator.tasks, results, redelivery.dead_letters)
    assert killed.while_running and killed.tasks_made >= 1, killed
    assert report.problems == [], "\n".join([*report.lines(), json.dumps(results)[:2000]])
    assert report.tasks == 10 and report.duplicates == 0 and not redelivery.dead_letters
