"""`status` and `upcoming`: the booking ledger's view beside what Tencent says (DescribeRecordTask)."""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Any

from record_task.cli.context import AWS_SETTINGS, TENCENT_SETTINGS, CliError, Context, add_command, reaching, when
from record_task.cli.streams import Owned, Stream, info_stream, scan_bookings, tencent_tasks, upcoming_tasks
from record_task.cli.timeline import timeline
from record_task.errors import PermanentFailure
from record_task.ledger.items import Entry, State, booking_key
from record_task.model.results import TaskRecord
from record_task.sources.registry import BY_NAME

SCAN_COST = (
    "It reads the ledger with one paginated Scan (a filter on the state): DynamoDB bills the Scan for every item "
    "of the table, about one read unit per 8 KB, whatever it keeps; the function itself never scans."
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    status = add_command(commands, common, "status", run_status, "one booking: the ledger beside Tencent",
        "A booking's state, tasks, stored results, recording files and last error (held: an error the "
        "operator must fix), with each task looked up in Tencent (DescribeRecordTask over its window).")  # fmt: skip
    status.add_argument("booking_id", metavar="BOOKING_ID")
    status.add_argument("--source", choices=sorted(BY_NAME), default="direct", help="the booking's source")
    upcoming = add_command(commands, common, "upcoming", run_upcoming, "what will record, per stream, as a timeline",
        "The tasks of standing bookings that record within the next hours, per stream, each with a "
        "bar across the horizon and whether Tencent lists it; tasks Tencent has on those streams that no booking "
        "owns are shown too. " + SCAN_COST)  # fmt: skip
    upcoming.add_argument("--hours", type=positive_hours, default=24, help="the horizon in hours (default 24)")
    upcoming.add_argument("--stream", help="only this StreamName")


def positive_hours(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of hours")
    return value


# -- status ------------------------------------------------------------------------------------------------------


def run_status(ctx: Context, args: argparse.Namespace) -> int:
    pk = booking_key(args.source, args.booking_id)
    with reaching("AWS", f"BOOKINGS_TABLE and {AWS_SETTINGS}"):
        entry = ctx.ledger.get(pk)
    if entry is None or entry.state == State.VERDICT:
        others = [name for name in BY_NAME if name != args.source]
        raise CliError(f"no booking {args.booking_id!r} from {args.source} in {ctx.setting('BOOKINGS_TABLE')} "
                       f"(another source? --source {' or '.join(others)})")  # fmt: skip
    checked = [(task, _in_tencent(ctx, task)) for task in entry.tasks]
    report = _status_report(entry, args.booking_id, args.source, checked)
    ctx.emit(report, _status_text(report, checked))
    return 0


def _in_tencent(ctx: Context, task: TaskRecord) -> str:
    """present / missing (or `gone` for a task the cancellation deleted) / unknown, with the reason."""
    with reaching("Tencent", TENCENT_SETTINGS):
        try:
            listed = ctx.api.describe_record_tasks(
                stream_name=task.stream_name,
                domain_name=task.domain_name,
                app_name=task.app_name,
                start_time=task.start_time,
                end_time=task.end_time,
                region=task.region,
            )
        except PermanentFailure as exc:  # e.g. a window more than 90 days ago: Tencent no longer answers
            return f"unknown ({exc.message})"
    if any(found.task_id == task.task_id for found in listed):
        return "present"
    return "gone (deleted by the cancellation)" if task.operation == "deleted" else "missing"


def _status_report(entry: Entry, booking_id: str, source: str, checked: list[tuple[TaskRecord, str]]) -> dict[str, Any]:
    errors = [r["error"] for r in entry.results.values() if r.get("error")]
    return {
        "bookingId": booking_id,
        "source": source,
        "ledgerKey": entry.pk,
        "state": entry.state.value,
        "requests": [request.to_dict() for request in entry.requests],
        "tasks": [{**task.to_message(), "tencent": seen} for task, seen in checked],
        "results": entry.results,
        "unpublished": entry.unpublished,
        "recordings": [
            {"key": key, "published": bool(record.get("published")), "result": record["result"]}
            for key, record in sorted(entry.recordings.items())
        ],
        "lastError": entry.held or (errors[-1] if errors else None),
        "held": entry.held,
    }


def _status_text(report: dict[str, Any], checked: list[tuple[TaskRecord, str]]) -> str:
    lines = [
        f"booking {report['bookingId']} ({report['source']}): {report['state']}  [ledger item {report['ledgerKey']}]"
    ]
    lines.append(f"tasks ({len(checked)}):" if checked else "tasks: none")
    for task, seen in checked:
        done = f", {task.operation}" if task.operation else ""
        lines.append(f"  {task.task_id}  {_span(task.start_time, task.end_time)}  {Stream.of(task)}{done}")
        lines.append(f"    Tencent: {seen}")
    if not checked and report["requests"]:
        lines.append("planned calls: " + ", ".join(_span(r["StartTime"], r["EndTime"]) for r in report["requests"]))
    lines.append("results:" if report["results"] else "results: none")
    for action, message in report["results"].items():
        pending = "NOT published yet" if report["unpublished"] == action else "published"
        extra = _result_detail(message)
        lines.append(f"  {action:<7} {message['status']:<9} received {message.get('receivedAt')}  {pending}{extra}")
    lines.append(f"recordings ({len(report['recordings'])}):" if report["recordings"] else "recordings: none")
    for record in report["recordings"]:
        result, file = record["result"], record["result"].get("recording") or {}
        event = result.get("recordEvent") or {}
        what = f"file {file.get('fileId')} {file.get('fileFormat', '')} {file.get('videoUrl', '')}" if file else ""
        if not file and isinstance(event.get("event_time"), int):
            what = f"{event.get('record_event') or 'status event'} at {when(event['event_time'])}"
        published = "published" if record["published"] else "NOT published yet"
        lines.append(f"  {result['status']:<17} {what or record['key']}  {published}")
    error, held = report["lastError"], report["held"]
    lines.append(f"last error: {error['code']}: {error['message']}" if error else "last error: none")
    lines.append(f"held (the operator must fix): {held['code']}: {held['message']}" if held else "held: none")
    return "\n".join(lines)


def _result_detail(message: dict[str, Any]) -> str:
    if message.get("window"):
        return f"  window {_span(message['window']['startTime'], message['window']['endTime'])}"
    if message.get("reason"):
        return f"  ({message['reason']})"
    if message.get("error"):
        return f"  ({message['error']['code']})"
    return ""


def _span(start: int, end: int) -> str:
    return f"{when(start)} .. {when(end)} ({end - start} s)"


# -- upcoming ----------------------------------------------------------------------------------------------------


def run_upcoming(ctx: Context, args: argparse.Namespace) -> int:
    start, end = ctx.now, ctx.now + args.hours * 3600
    entries = scan_bookings(ctx, (State.ACTIVE, State.DEFERRED))
    owned = [o for o in upcoming_tasks(entries, start, end) if args.stream is None or o.task.stream_name == args.stream]
    by_stream: dict[Stream, list[Owned]] = defaultdict(list)
    for item in owned:
        by_stream[Stream.of(item.task)].append(item)
    streams: list[dict[str, Any]] = []
    for stream in sorted(by_stream):
        listed = {t.task_id: t for t in tencent_tasks(ctx, stream.region, start, end, stream)}
        ours = sorted(by_stream[stream], key=lambda o: (o.task.start_time, o.task.task_id))
        rows = [
            _row(
                o.booking_id,
                o.task.task_id,
                o.task.start_time,
                o.task.end_time,
                "present" if o.task.task_id in listed else "missing",
            )
            for o in ours
        ]
        mine = {o.task.task_id for o in ours}
        rows += [
            _row(None, t.task_id, t.start_time, t.end_time, "present, owned by no booking")
            for t in listed.values()
            if t.task_id not in mine and info_stream(t, stream.region) == stream
        ]
        streams.append({"stream": stream.to_params(), "name": str(stream), "tasks": rows})
    report = {"from": start, "until": end, "hours": args.hours, "streams": streams,
              "deferred": _deferred(entries, start, end, args.stream)}  # fmt: skip
    ctx.emit(report, timeline(report))
    return 0


def _deferred(entries: list[Entry], start: int, end: int, stream: str | None) -> list[dict[str, Any]]:
    """Deferred bookings whose planned window meets the horizon: no task yet (the sweep makes it)."""
    found = []
    for entry in entries:
        result = entry.result("create") if entry.state == State.DEFERRED else None
        named = entry.booking.stream.stream_name if entry.booking else None
        if result and result.window and result.window[1] > start and result.window[0] < end and stream in (None, named):
            found.append({"bookingId": result.booking_id, "startTime": result.window[0], "endTime": result.window[1]})
    return sorted(found, key=lambda row: (row["startTime"], str(row["bookingId"])))


def _row(booking_id: str | None, task_id: str, start: int, end: int, tencent: str) -> dict[str, Any]:
    return {"bookingId": booking_id, "taskId": task_id, "startTime": start, "endTime": end, "tencent": tencent}
