"""`reconcile --fix`: re-create a standing booking's missing task and put it in the booking's ledger item.

The item is changed with one conditional update (the booking still active, the slot still holding the
missing task), so a booking cancelled or repaired meanwhile is left alone; the task made for it is then
removed again, since nobody would own it. The new task's pointer is written first, as the function does,
so its recording callbacks find the booking.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from record_task.bookings.creation import task_record
from record_task.cli.context import AWS_SETTINGS, TENCENT_SETTINGS, Context, reaching
from record_task.cli.streams import Owned
from record_task.errors import PermanentFailure
from record_task.ledger.items import State, task_key
from record_task.model.results import TaskRecord
from record_task.model.tasks import RecordTaskRequest


def recreate(ctx: Context, owned: Owned) -> dict[str, Any]:
    """Create the task again (from now on, if its window has begun) and swap it into the ledger item."""
    entry, task = owned.entry, owned.task
    request = _request_for(owned, ctx.now)
    outcome: dict[str, Any] = {"bookingId": owned.booking_id, "missingTaskId": task.task_id}
    with reaching("Tencent", TENCENT_SETTINGS):
        try:
            made = ctx.api.create_record_task(request)
        except PermanentFailure as exc:
            return {**outcome, "error": exc.info.to_dict()}
    record = task_record(request, made.task_id, made.request_id)
    index = next(n for n, held in enumerate(entry.tasks) if held.task_id == task.task_id)
    with reaching("AWS", f"BOOKINGS_TABLE and {AWS_SETTINGS}"):
        ctx.ledger.link(task_key(made.task_id), entry.pk, made.task_id, ctx.now)
        swapped = _swap(ctx, entry.pk, index, task.task_id, record)
    if not swapped:
        with reaching("Tencent", TENCENT_SETTINGS):
            ctx.api.delete_record_task(made.task_id, request.region)
        return {**outcome, "error": {"code": "Conflict", "message": "the booking changed meanwhile; nothing kept"}}
    return {**outcome, "newTaskId": made.task_id, "startTime": request.start_time, "endTime": request.end_time}


def _request_for(owned: Owned, now: int) -> RecordTaskRequest:
    """The planned call the task was made from (stream type, template, extension), from now on."""
    task = owned.task
    planned = next((r for r in owned.entry.requests if _same(r, task)), None)
    if planned is None:
        planned = RecordTaskRequest(
            task.stream_name, task.domain_name, task.app_name, task.start_time, task.end_time, region=task.region
        )
    return replace(planned, start_time=max(task.start_time, now))


def _same(request: RecordTaskRequest, task: TaskRecord) -> bool:
    mine = (request.stream_name, request.domain_name, request.app_name, request.region, request.end_time)
    return mine == (task.stream_name, task.domain_name, task.app_name, task.region, task.end_time)


def _swap(ctx: Context, pk: str, index: int, old_task_id: str, record: TaskRecord) -> bool:
    from boto3.dynamodb.types import TypeSerializer

    serialize = TypeSerializer().serialize
    db = ctx.client("dynamodb")
    try:
        db.update_item(
            TableName=ctx.setting("BOOKINGS_TABLE"),
            Key={"pk": {"S": pk}},
            UpdateExpression=f"SET tasks[{index}] = :new",
            ConditionExpression=f"#state = :active AND tasks[{index}].taskId = :old",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":new": serialize(record.to_message()),
                ":active": serialize(State.ACTIVE.value),
                ":old": serialize(old_task_id),
            },
        )
    except db.exceptions.ConditionalCheckFailedException:
        return False
    return True


def remove(ctx: Context, stale: dict[str, Any], now: int) -> dict[str, Any]:
    """Delete a task the function made for a booking since cancelled, if it has not started: a running one
    is the cancellation's to stop, and was reported as such."""
    outcome: dict[str, Any] = {"staleTaskId": stale["taskId"]}
    if stale["startTime"] <= now:
        return {**outcome, "error": {"code": "Started", "message": "it is recording; stop it by hand if unwanted"}}
    with reaching("Tencent", TENCENT_SETTINGS):
        try:
            ctx.api.delete_record_task(stale["taskId"], stale["region"])
        except PermanentFailure as exc:
            return {**outcome, "error": exc.info.to_dict()}
    return {**outcome, "removed": True}
