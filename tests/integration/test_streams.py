"""Shared streams over HTTP (moto server and the Tencent emulator): the invariants of docs/contract.md
"Streams" checked against the emulator's own task list, under random sequences and under concurrency."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from record_task.model.results import Result
from tests.conftest import Clock
from tests.stream_checks import STEPS, Driver, Step, emulator_recording
from tools.lambda_events import FakeContext, scheduled_event, sqs_event, sqs_record
from tools.local_aws import MotoStack
from tools.sample_events import signed_direct

START = int(time.time()) // 3600 * 3600 + 3600  # every example starts here: the emulator's rules see this clock
HOUR = 3600
Logger(service="record-task")  # the parent the package's child loggers need (handler.py makes it in Lambda)


def driver(app: Any, stack: MotoStack, emulator: Any, clock: Clock, padding: int) -> Driver:
    prefix = uuid.uuid4().hex[:8] + "-"  # streams and bookings of one example only
    published: list[Result] = []

    def results() -> list[Result]:
        published.extend(Result.from_message(body) for body in stack.results())
        return published

    def recording() -> list[Any]:
        return emulator_recording(t for t in emulator.tasks if str(t["StreamName"]).startswith(prefix))

    return Driver(app, clock, padding, recording, results, prefix)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, padding=st.sampled_from([0, 300]))
def test_every_step_keeps_one_recording_of_every_booked_second_on_the_emulator(
    app_factory: Callable[..., Any], stack: MotoStack, emulator: Any, clock: Clock, steps: list[Step], padding: int
) -> None:
    clock.now = START
    app = app_factory(RECORD_LEAD_SECONDS=str(padding), RECORD_TAIL_SECONDS=str(padding))
    model = driver(app, stack, emulator, clock, padding)
    for step in steps:
        model.run(step, START)


def body(model: Driver, number: int, start: int, end: int) -> dict[str, Any]:
    return {"BookingId": f"{model.prefix}b-{number}", "StreamName": model.prefix + "studio-1",
            "StartTime": start, "EndTime": end}  # fmt: skip


def expect(model: Driver, windows: dict[str, tuple[int, int]]) -> None:
    """These bookings stand once a `created` result says so (`Driver.check` files them)."""
    for booking_id, (start, end) in windows.items():
        model.deferred[booking_id] = (model.prefix + "studio-1", start, end)


def settled(model: Driver, windows: dict[str, tuple[int, int]]) -> None:
    """Every booking of `windows` stands, and the stream's invariants hold against the emulator."""
    expect(model, windows)
    model.check()
    assert sorted(model.standing) == sorted(windows)


@pytest.fixture
def padded(app_factory: Callable[..., Any], stack: MotoStack, emulator: Any, clock: Clock) -> tuple[Any, Driver]:
    """The function with five minutes of padding either side, and the model that checks its streams."""
    app = app_factory(RECORD_LEAD_SECONDS="300", RECORD_TAIL_SECONDS="300")
    return app, driver(app, stack, emulator, clock, 300)


def test_a_batch_of_ten_on_one_stream_through_the_queue(padded: tuple[Any, Driver], clock: Clock) -> None:
    """Ten back-to-back and overlapping classes in one SQS batch, handled in parallel threads."""
    app, model = padded
    now = int(clock.now)
    windows = {f"{model.prefix}b-{n}": (now + HOUR + n * 1500, now + HOUR + n * 1500 + 1800) for n in range(10)}
    records = [sqs_record(body(model, n, *windows[f"{model.prefix}b-{n}"])) for n in range(10)]
    for _ in range(5):  # what SQS would redeliver
        failed = {f["itemIdentifier"] for f in app.queue(sqs_event(*records), FakeContext())["batchItemFailures"]}
        records = [r for r in records if r["messageId"] in failed]
        if not records:
            break
    assert not records
    settled(model, windows)


def test_parallel_webhooks_on_one_stream(padded: tuple[Any, Driver], clock: Clock) -> None:
    app, model = padded
    now = int(clock.now)

    def send(n: int) -> int:
        start = now + HOUR + n * 1200
        event = signed_direct(json.dumps(body(model, n, start, start + 1800)))
        return int(app.webhook(event, FakeContext())["statusCode"])

    windows = {f"{model.prefix}b-{n}": (now + HOUR + n * 1200, now + HOUR + n * 1200 + 1800) for n in range(6)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(send, range(6)))
    assert codes == [201] * 6
    settled(model, windows)


def test_deferred_bookings_on_one_stream_activated_by_parallel_sweeps(padded: tuple[Any, Driver], clock: Clock) -> None:
    app, model = padded
    far = int(clock.now) + 10 * 24 * HOUR
    for number in range(6):  # back to back and overlapping, beyond the horizon
        assert model.book_deferred("studio-1", far + number * 1500, far + number * 1500 + 1800) == "deferred"
    clock.now = far - 5 * 24 * HOUR
    with ThreadPoolExecutor(max_workers=3) as pool:
        summaries = list(pool.map(lambda _: app.sweep(scheduled_event(int(clock.now)), None), range(3)))
    assert sum(summary["created"] for summary in summaries) == 6
    model.check()
    assert len(model.standing) == 6


def test_parallel_webhooks_booking_and_cancelling_on_one_stream(padded: tuple[Any, Driver], clock: Clock) -> None:
    app, model = padded
    now = int(clock.now)
    first = {f"{model.prefix}b-{n}": (now + HOUR + n * 1500, now + HOUR + n * 1500 + 1800) for n in range(4)}
    for number, (start, end) in enumerate(first.values()):
        assert (
            app.webhook(signed_direct(json.dumps(body(model, number, start, end))), FakeContext())["statusCode"] == 201
        )
    later = {f"{model.prefix}b-{n}": (now + HOUR + n * 1100, now + HOUR + n * 1100 + 1500) for n in range(4, 8)}

    def send(n: int) -> int:
        if n < 2:  # cancel b-0 and b-2
            payload = {"BookingId": f"{model.prefix}b-{n * 2}", "Action": "cancel"}
        else:
            payload = body(model, n + 2, *later[f"{model.prefix}b-{n + 2}"])
        return int(app.webhook(signed_direct(json.dumps(payload)), FakeContext())["statusCode"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(send, range(6)))
    assert codes == [200, 200, 201, 201, 201, 201]
    expect(model, {k: v for k, v in {**first, **later}.items() if not k.endswith(("b-0", "b-2"))})
    model.check()
    assert len(model.standing) == 6
