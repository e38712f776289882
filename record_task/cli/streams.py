"""The two views the operator commands compare: the ledger's tasks (by a Scan) and Tencent's (by
DescribeRecordTask), over a horizon, keyed by stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from record_task.cli.context import AWS_SETTINGS, TENCENT_SETTINGS, Context, reaching
from record_task.ledger.items import Entry, State
from record_task.model.results import TaskRecord
from record_task.tencent.tasks import TaskInfo

DAY = 86400
MAX_QUERY_SECONDS = 7 * DAY  # DescribeRecordTask's longest span
BOOKINGS = (State.DEFERRED, State.CREATING, State.ACTIVE, State.CANCELLED, State.FAILED)  # every booking item


@dataclass(frozen=True, order=True)
class Stream:
    """(Region, DomainName, AppName, StreamName): one stream, as docs/contract.md section 8 defines it."""

    region: str
    domain_name: str
    app_name: str
    stream_name: str

    @classmethod
    def of(cls, task: TaskRecord) -> Stream:
        return cls(task.region, task.domain_name, task.app_name, task.stream_name)

    def to_params(self) -> dict[str, str]:
        """By API names, as results and `plan` name them."""
        return {"Region": self.region, "DomainName": self.domain_name, "AppName": self.app_name,
                "StreamName": self.stream_name}  # fmt: skip

    def __str__(self) -> str:
        return f"{self.region} {self.domain_name}/{self.app_name}/{self.stream_name}"


@dataclass(frozen=True)
class Owned:
    """A ledger task with the booking that holds it."""

    entry: Entry
    task: TaskRecord

    @property
    def booking_id(self) -> str:
        return self.entry.booking.booking_id if self.entry.booking else self.entry.pk


def scan_bookings(ctx: Context, states: tuple[State, ...] = BOOKINGS) -> list[Entry]:
    """The booking items in `states`: one paginated Scan of the table (its cost: see `scan_entries`)."""
    from record_task.ledger.dynamodb import scan_entries

    progress = ctx.progress("scanning the booking ledger")
    entries: list[Entry] = []
    with reaching("AWS", f"BOOKINGS_TABLE and {AWS_SETTINGS}"):
        for entry in scan_entries(ctx.client("dynamodb"), ctx.setting("BOOKINGS_TABLE"), states):
            entries.append(entry)
            progress.step("bookings")
    progress.done()
    return entries


def upcoming_tasks(entries: list[Entry], start: int, end: int) -> Iterator[Owned]:
    """Tasks of standing (active) bookings that end after `start` and start before `end`."""
    for entry in entries:
        if entry.state == State.ACTIVE:
            yield from (Owned(entry, t) for t in entry.tasks if t.end_time > start and t.start_time < end)


def tencent_tasks(ctx: Context, region: str, start: int, end: int, stream: Stream | None = None) -> list[TaskInfo]:
    """Tencent's tasks that overlap [start, end] (in a region, or on one stream): queried from a day earlier,
    since the API lists only tasks lying wholly inside the span (a task lasts at most a day), in spans of
    at most a week that overlap by a day, so none is missed at a seam."""
    progress = ctx.progress(f"DescribeRecordTask {region}")
    found: dict[str, TaskInfo] = {}
    first, last = start - DAY, end + DAY
    with reaching("Tencent", TENCENT_SETTINGS):
        while True:
            until = min(first + MAX_QUERY_SECONDS, last)
            names = (stream.stream_name, stream.domain_name, stream.app_name) if stream else ("", "", "")
            for task in ctx.api.describe_record_tasks(
                stream_name=names[0],
                domain_name=names[1],
                app_name=names[2],
                start_time=first,
                end_time=until,
                region=region,
            ):
                found[task.task_id] = task
            progress.step("queries")
            if until >= last:
                break
            first = until - DAY
    progress.done()
    return sorted((t for t in found.values() if t.end_time > start and t.start_time < end), key=_order)


def info_stream(task: TaskInfo, region: str) -> Stream:
    return Stream(region, task.domain_name, task.app_name, task.stream_name)


def _order(task: TaskInfo) -> tuple[int, str]:
    return task.start_time, task.task_id
