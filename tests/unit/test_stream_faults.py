"""A stream change that fails half-way: a transient failure is retried, a permanent refusal leaves the
stream as it was, and a holder that died is recovered by the next change of the stream."""

from __future__ import annotations

import pytest

from record_task.app import assemble
from record_task.config import Settings
from record_task.errors import TransientFailure
from record_task.ledger.memory import MemoryLedger
from record_task.ledger.publisher import MemoryPublisher
from record_task.model.booking import Booking, StreamFields
from tests.conftest import Clock
from tests.stream_checks import DOMAIN, Driver, Standing, TimedTaskApi

NOW = 1_800_000_000
HOUR = 3600


class FailingApi(TimedTaskApi):
    """Fails the next DeleteRecordTask with `failure` (an exception the adapter would never raise stands for
    an invocation that died mid-way)."""

    failure: BaseException | None = None

    def delete_record_task(self, task_id: str, region: str) -> str:
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure
        return super().delete_record_task(task_id, region)


def setup() -> tuple[Driver, FailingApi]:
    clock = Clock(NOW)
    api = FailingApi(clock)
    publisher = MemoryPublisher()
    config = Settings(default_domain_name=DOMAIN, lead_seconds=300, tail_seconds=300)
    app = assemble(config, MemoryLedger(), publisher, api, clock=clock)
    return Driver(app, clock, 300, api.recording, lambda: publisher.results), api


def second_class(model: Driver) -> Booking:
    return Booking("b-1", "direct", start_time=NOW + 2 * HOUR, end_time=NOW + 3 * HOUR, stream=StreamFields("studio-1"))


def stands(model: Driver, booking_id: str, start: int, end: int) -> None:
    key = ("ap-singapore", DOMAIN, "live", "studio-1")
    model.standing[booking_id] = Standing(booking_id, key, (start, end), (start - 300, end + 300), model.now)


def test_a_transient_failure_half_way_is_finished_by_the_retry() -> None:
    model, api = setup()
    model.book("studio-1", NOW + HOUR, NOW + 2 * HOUR)
    api.failure = TransientFailure("injected", code="InternalError")  # trimming b-0: its old task stays
    with pytest.raises(TransientFailure):
        model.app.decision.handle(second_class(model), NOW)
    assert model.app.decision.handle(second_class(model), NOW).primary.status == "created"
    stands(model, "b-1", NOW + 2 * HOUR, NOW + 3 * HOUR)
    model.check()
    assert sum(1 for call in api.calls if call == "CreateRecordTask") == 3  # b-0, b-0 trimmed, b-1: none twice


def test_a_refused_create_leaves_the_stream_as_it_was() -> None:
    model, api = setup()
    model.book("studio-1", NOW + HOUR, NOW + 2 * HOUR)
    before = model.recording()
    api.fail_next("InvalidParameter")  # the next call: b-1's create
    assert model.app.decision.handle(second_class(model), NOW).primary.status == "failed"
    assert model.recording() == before
    assert not [r for r in model.results() if r.status == "updated"]
    model.check()


def test_a_holder_that_died_is_recovered_by_the_next_change_of_its_stream() -> None:
    model, api = setup()
    model.book("studio-1", NOW + HOUR, NOW + 2 * HOUR)
    api.failure = RuntimeError("the invocation died")
    with pytest.raises(RuntimeError):
        model.app.decision.handle(second_class(model), NOW)
    model.clock.advance(600)  # the claim lapsed
    third = Booking(
        "b-2", "direct", start_time=NOW + 4 * HOUR, end_time=NOW + 5 * HOUR, stream=StreamFields("studio-1")
    )
    assert model.app.decision.handle(third, model.now).primary.status == "created"
    stands(model, "b-2", NOW + 4 * HOUR, NOW + 5 * HOUR)
    # b-1's half-made change was finished by b-2: its tasks found, b-0's old one removed
    assert model.app.decision.handle(second_class(model), model.now).primary.status == "created"
    model.standing["b-1"] = Standing("b-1", model.standing["b-0"].stream, (NOW + 2 * HOUR, NOW + 3 * HOUR),
                                     (NOW + 2 * HOUR - 300, NOW + 3 * HOUR + 300), NOW)  # fmt: skip
    model.check()
    assert sum(1 for call in api.calls if call == "CreateRecordTask") == 4  # b-0, b-0 trimmed, b-1, b-2
