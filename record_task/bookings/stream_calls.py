"""The calls one stream change makes, and what each booking on the stream is told about them.

Creates come first: a create the API refuses for good is undone before anything was removed, so a
failed booking leaves its stream as it was. Ending a task that is already gone (or already over) is
the goal met, not a failure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from record_task.bookings.streams import StreamPlan, covering
from record_task.errors import PermanentFailure
from record_task.ledger.streams import StreamState
from record_task.model.results import TaskRecord
from record_task.model.streams import Segment, StreamBooking
from record_task.model.tasks import RecordTaskRequest
from record_task.tencent.tasks import CreatedTask

if TYPE_CHECKING:
    from record_task.tencent.tasks import TaskApi

logger = Logger(service="record-task", child=True)


def request_for(state: StreamState, segment: Segment) -> StreamBooking:
    owner = state.booking(segment.owner)
    assert owner is not None, "every planned segment is owned by a standing booking"
    return owner


def create_all(
    api: TaskApi, state: StreamState, plan: StreamPlan, *, adopt: bool
) -> dict[tuple[int, int, str], Segment]:
    """Create every planned segment (`adopt`: taking over one an interrupted attempt made); on a permanent
    refusal remove what was made and raise."""
    made: dict[tuple[int, int, str], Segment] = {}
    try:
        for segment in plan.create:
            request = replace(request_for(state, segment).request, start_time=segment.start, end_time=segment.end)
            known = {s.task_id for s in state.segments} | {s.task_id for s in made.values()}
            created = (unknown_task(api, request, known) if adopt else None) or api.create_record_task(request)
            made[(segment.start, segment.end, segment.owner)] = replace(
                segment, task_id=created.task_id, request_id=created.request_id
            )
    except PermanentFailure:
        undo(api, state, made)
        raise
    return made


def undo(api: TaskApi, state: StreamState, made: dict[tuple[int, int, str], Segment]) -> None:
    for segment in made.values():
        end_task(api, state, segment, stop=False, tolerant=True)


def end_task(api: TaskApi, state: StreamState, segment: Segment, *, stop: bool, tolerant: bool) -> str | None:
    """Delete a task not started or stop a running one; the request id, or None when it was gone already
    (`tolerant`: or any other refusal, when re-ending what a lapsed attempt ended)."""
    assert segment.task_id is not None
    region = state.pk.split("#")[1]  # stream#<region>#<domain>#<app>#<name>
    try:
        if stop:
            return api.stop_record_task(segment.task_id, region)
        return api.delete_record_task(segment.task_id, region)
    except PermanentFailure as exc:  # gone already: nothing is left to end
        if not (tolerant or exc.code.startswith("ResourceNotFound")):
            raise
        logger.warning("task already ended", extra={"task_id": segment.task_id, "error": exc.code})
        return None


def with_ids(plan: StreamPlan, made: dict[tuple[int, int, str], Segment]) -> tuple[Segment, ...]:
    return tuple(made.get((s.start, s.end, s.owner), s) if s.task_id is None else s for s in plan.segments)


def records_for(state: StreamState, booking: StreamBooking) -> tuple[TaskRecord, ...]:
    """The tasks recording part of the booking's window; a neighbour's names its booking."""
    found = []
    for segment in covering(state.segments, booking):
        owner = state.booking(segment.owner)
        request = owner.request if owner else booking.request
        found.append(
            TaskRecord(
                str(segment.task_id), segment.request_id, segment.start, segment.end, request.stream_name,
                request.domain_name, request.app_name, request.region,
                booking_id=None if segment.owner == booking.pk else (owner.booking_id if owner else segment.owner),
            )
        )  # fmt: skip
    return tuple(found)


def changed_neighbours(before: StreamState, after: StreamState, me: str) -> list[StreamBooking]:
    """Standing bookings other than `me` whose recording tasks differ after the change."""

    def ids(state: StreamState, booking: StreamBooking) -> set[str | None]:
        return {s.task_id for s in covering(state.segments, booking)}

    return [b for b in after.bookings if b.pk != me and ids(before, b) != ids(after, b)]


def end_retired(
    api: TaskApi, state: StreamState, retiring: tuple[Segment, ...], now: int, *, tolerant: bool = False
) -> dict[str, tuple[Segment, str, str]]:
    """Delete the tasks not wanted any more, stop the running ones nobody needs: task id -> the task, what
    was done to it and the request id."""
    done = {}
    for segment in retiring:
        stop = segment.start <= now
        request_id = end_task(api, state, segment, stop=stop, tolerant=tolerant)
        done[str(segment.task_id)] = (segment, "stopped" if stop else "deleted", request_id or "")
    return done


def found_again(
    api: TaskApi, state: StreamState, segment: Segment, own: dict[tuple[int, int], TaskRecord] | None
) -> Segment | None:
    """A segment a holder made: from its booking item's tasks (`own`) when it finished, else asked of the API
    (a task of the same window that the stream already knows, e.g. one being retired, is not it)."""
    if own is not None:
        task = own.get((segment.start, segment.end))
        return replace(segment, task_id=task.task_id, request_id=task.request_id) if task else None
    owner = state.booking(segment.owner)
    if owner is None:
        return None
    known = {s.task_id for s in (*state.segments, *state.retiring)}
    made = unknown_task(api, replace(owner.request, start_time=segment.start, end_time=segment.end), known)
    return replace(segment, task_id=made.task_id) if made else None


def unknown_task(api: TaskApi, request: RecordTaskRequest, known: set[str | None]) -> CreatedTask | None:
    """A task exactly as `request` would make it, other than those in `known`."""
    r = request
    found = api.describe_record_tasks(stream_name=r.stream_name, domain_name=r.domain_name, app_name=r.app_name,
                                      start_time=r.start_time, end_time=r.end_time, region=r.region)  # fmt: skip
    task = next((t for t in found if t.matches(request) and t.task_id not in known), None)
    return CreatedTask(task.task_id, "") if task else None
