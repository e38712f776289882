"""The operator CLI run in-process against the local stack (moto) and the emulator, as an operator
would run it: the function's environment in `os.environ`, bookings made by the function itself."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from record_task.cli.main import main
from record_task.model.booking import Booking
from record_task.model.results import Result
from record_task.sources.registry import BY_NAME, parse_bookings
from tests.conftest import EMULATOR_KEYS, Clock
from tools.local_aws import MotoStack

Logger(service="record-task")  # the parent of the function's child loggers, as handler.py makes it
HOUR = 3600
DOMAIN = "5000.live.push.com"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def operator_env(stack: MotoStack, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function's environment, as the operator exports it (the stack fixture set the AWS part)."""
    env = {**EMULATOR_KEYS, "LIVE_ENDPOINT": emulator.endpoint, "DEFAULT_DOMAIN_NAME": DOMAIN,
           "LIVE_RETRY_BUDGET_SECONDS": "1", "BOOKINGS_QUEUE_URL": stack.queue_url,
           "DEAD_LETTER_QUEUE_URL": stack.dlq_url}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def cli(clock: Clock) -> Callable[..., Run]:
    """`python -m record_task ARGS` in-process: exit status and both streams."""

    def run(*argv: str, err: io.StringIO | None = None) -> Run:
        out, err = io.StringIO(), err or io.StringIO()
        code = main(list(argv), out=out, err=err, clock=clock)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def book(app_factory: Callable[..., Any], clock: Clock) -> Callable[..., Result]:
    """Hand a direct-format booking to the function (`app.decision.handle`); its last result."""
    app = app_factory()

    def make(booking_id: str, start: int, end: int, stream: str = "room-a", **values: Any) -> Result:
        body = {"BookingId": booking_id, "StreamName": stream, "StartTime": start, "EndTime": end, **values}
        (booking,) = parse_bookings(body, BY_NAME["direct"])
        result: Result = app.decision.handle(booking, int(clock.now)).primary
        return result

    make.app = app  # type: ignore[attr-defined]
    return make


def cancel(booking_id: str) -> Booking:
    """A direct-format cancellation, as the function parses it."""
    (booking,) = parse_bookings({"BookingId": booking_id, "Action": "cancel"}, BY_NAME["direct"])
    return booking
