"""What a stream change tells the other bookings on the stream: an `updated` result naming every task that
records its window now, kept in its booking item (and its new tasks pointed at it) before it is published."""

from __future__ import annotations

from record_task.bookings.stream_calls import changed_neighbours, records_for
from record_task.ledger.items import Slot, task_key
from record_task.ledger.outbox import Outbox
from record_task.ledger.store import Ledger
from record_task.ledger.streams import StreamState
from record_task.model.results import Result, iso

UPDATE = Slot("update")


def notify_neighbours(
    ledger: Ledger, outbox: Outbox, before: StreamState, after: StreamState, me: str, now: int
) -> None:
    for neighbour in changed_neighbours(before, after, me):
        tasks = records_for(after, neighbour)
        known = {s.task_id for s in before.segments}
        for task in tasks:
            if task.booking_id is None and task.task_id not in known:
                ledger.link(task_key(task.task_id), neighbour.pk, task.task_id, now)
        source = neighbour.pk.split("#", 1)[0]
        result = Result("updated", neighbour.booking_id, "create", source, tasks=tasks, received_at=iso(now))
        if ledger.update_tasks(neighbour.pk, result, tasks, now):  # an active booking; a claimed one reports itself
            outbox.send(neighbour.pk, UPDATE, result)
