"""`reconcile`: the ledger's tasks against Tencent's over a horizon, and with `--fix` what is safe to repair.

Found: tasks nobody owns (listed by Tencent, held by no booking, not being created by a claim under
way), tasks a standing booking holds that Tencent does not list (missing), the same task with another
window or stream (moved), a cancelled booking's deleted task Tencent still lists (stale), and tasks that
overlap on a stream. `--fix` re-creates a standing booking's missing task and removes a stale one that
has not started (record_task/cli/repair.py); it never deletes a task the function did not make.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Any

from record_task.cli.context import Context, add_command, when
from record_task.cli.inspection import SCAN_COST, positive_hours
from record_task.cli.repair import recreate, remove
from record_task.cli.streams import Owned, Stream, info_stream, scan_bookings, tencent_tasks, upcoming_tasks
from record_task.ledger.items import Entry, State
from record_task.tencent.tasks import TaskInfo


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    command = add_command(commands, common, "reconcile", run_reconcile,
        "the ledger's tasks against Tencent's; --fix repairs what is safe",
        "Compare the tasks of standing bookings with DescribeRecordTask over the horizon: tasks no "
        "booking owns, tasks missing from Tencent, moved windows, overlaps on a stream. --fix re-creates a "
        "standing booking's missing task and updates its ledger item; it never deletes a task. Exit 1 when "
        "anything is left unfixed. " + SCAN_COST)  # fmt: skip
    command.add_argument("--hours", type=positive_hours, default=24, help="the horizon in hours (default 24)")
    command.add_argument("--fix", action="store_true", help="re-create missing tasks of standing bookings")


def run_reconcile(ctx: Context, args: argparse.Namespace) -> int:
    start, end = ctx.now, ctx.now + args.hours * 3600
    entries = scan_bookings(ctx)
    known = {task.task_id for entry in entries for task in entry.tasks}
    expected = list(upcoming_tasks(entries, start, end))
    regions = sorted({ctx.settings.tencent_region} | {o.task.region for o in expected})
    listed: dict[str, tuple[TaskInfo, str]] = {}
    for region in regions:
        listed.update((t.task_id, (t, region)) for t in tencent_tasks(ctx, region, start, end))
    claimed = _being_created(entries)  # a claim under way has made tasks it has not stored yet
    orphans = [_info(task, region) for task, region in listed.values()
               if task.task_id not in known and _window(task, region) not in claimed]  # fmt: skip
    missing = [o for o in expected if o.task.task_id not in listed]
    moved = [_moved(o, *listed[o.task.task_id]) for o in expected if o.task.task_id in listed]
    moved = [m for m in moved if m is not None]
    stale = [_info(*listed[task.task_id]) for entry in entries if entry.state == State.CANCELLED
             for task in entry.tasks if task.operation == "deleted" and task.task_id in listed]  # fmt: skip
    overlaps = _overlaps(list(listed.values()))
    fixed: list[dict[str, Any]] = []
    if args.fix:
        fixed = [recreate(ctx, o) for o in missing if o.task.end_time > ctx.now]
        fixed += [remove(ctx, task, ctx.now) for task in stale]
    repaired = {f["missingTaskId"] for f in fixed if f.get("newTaskId")}
    removed = {f["staleTaskId"] for f in fixed if f.get("removed")}
    report = {
        "from": start,
        "until": end,
        "checked": {"ledgerTasks": len(expected), "tencentTasks": len(listed), "regions": regions},
        "orphans": orphans,
        "missing": [_missing(o, o.task.task_id in repaired) for o in missing],
        "moved": moved,
        "stale": [{**task, "fixed": task["taskId"] in removed} for task in stale],
        "overlaps": overlaps,
        "fixed": fixed,
    }
    unfixed = len(orphans) + len(missing) - len(repaired) + len(moved) + len(stale) - len(removed) + len(overlaps)
    report["unfixed"] = unfixed
    ctx.emit(report, _text(report))
    return 1 if unfixed else 0


def _being_created(entries: list[Entry]) -> set[tuple[Stream, int, int]]:
    return {(Stream(r.region, r.domain_name, r.app_name, r.stream_name), r.start_time, r.end_time)
            for entry in entries if entry.state == State.CREATING for r in entry.requests}  # fmt: skip


def _window(task: TaskInfo, region: str) -> tuple[Stream, int, int]:
    return info_stream(task, region), task.start_time, task.end_time


def _info(task: TaskInfo, region: str) -> dict[str, Any]:
    return {
        "taskId": task.task_id,
        "stream": str(info_stream(task, region)),
        "region": region,
        "startTime": task.start_time,
        "endTime": task.end_time,
    }


def _missing(owned: Owned, fixed: bool) -> dict[str, Any]:
    task = owned.task
    return {
        "bookingId": owned.booking_id,
        "ledgerKey": owned.entry.pk,
        "taskId": task.task_id,
        "stream": str(Stream.of(task)),
        "startTime": task.start_time,
        "endTime": task.end_time,
        "fixed": fixed,
    }


def _moved(owned: Owned, found: TaskInfo, region: str) -> dict[str, Any] | None:
    task = owned.task
    ledger = (str(Stream.of(task)), task.start_time, task.end_time)
    tencent = (str(info_stream(found, region)), found.start_time, found.end_time)
    if ledger == tencent:
        return None
    return {
        "bookingId": owned.booking_id,
        "taskId": task.task_id,
        "ledger": {"stream": ledger[0], "startTime": ledger[1], "endTime": ledger[2]},
        "tencent": {"stream": tencent[0], "startTime": tencent[1], "endTime": tencent[2]},
    }


def _overlaps(listed: list[tuple[TaskInfo, str]]) -> list[dict[str, Any]]:
    """Pairs of Tencent tasks on one stream whose windows overlap (one may end where the next starts)."""
    by_stream: dict[Stream, list[TaskInfo]] = defaultdict(list)
    for task, region in listed:
        by_stream[info_stream(task, region)].append(task)
    found = []
    for stream, tasks in sorted(by_stream.items()):
        tasks.sort(key=lambda t: (t.start_time, t.task_id))
        for index, first in enumerate(tasks):
            for second in tasks[index + 1 :]:
                if second.start_time >= first.end_time:
                    break
                seconds = min(first.end_time, second.end_time) - second.start_time
                found.append(
                    {
                        "stream": str(stream),
                        "taskIds": [first.task_id, second.task_id],
                        "from": second.start_time,
                        "seconds": seconds,
                    }
                )
    return found


def _text(report: dict[str, Any]) -> str:
    checked = report["checked"]
    lines = [
        f"reconciled {when(report['from'])} .. {when(report['until'])}: {checked['ledgerTasks']} task(s) of standing "
        f"bookings, {checked['tencentTasks']} listed by Tencent in {', '.join(checked['regions'])}",
        f"  orphans (in Tencent, owned by no booking; never deleted here): {len(report['orphans'])}",
    ]
    lines += [
        f"    {o['taskId']}  {o['stream']}  {when(o['startTime'])} .. {when(o['endTime'])}" for o in report["orphans"]
    ]
    lines.append(f"  missing (held by a standing booking, not in Tencent): {len(report['missing'])}")
    for m in report["missing"]:
        state = "re-created" if m["fixed"] else "not fixed (--fix re-creates it)"
        lines.append(f"    {m['taskId']}  booking {m['bookingId']}  {m['stream']}  {when(m['startTime'])}  {state}")
    lines.append(f"  moved (another window or stream in Tencent): {len(report['moved'])}")
    for m in report["moved"]:
        ledger, tencent = m["ledger"], m["tencent"]
        lines.append(
            f"    {m['taskId']}  booking {m['bookingId']}  ledger {when(ledger['startTime'])} .. "
            f"{when(ledger['endTime'])}, Tencent {when(tencent['startTime'])} .. {when(tencent['endTime'])}"
        )
    lines.append(f"  stale (a cancelled booking's task Tencent still lists): {len(report['stale'])}")
    for task in report["stale"]:
        state = "removed" if task["fixed"] else "not fixed (--fix removes it if it has not started)"
        lines.append(f"    {task['taskId']}  {task['stream']}  {when(task['startTime'])}  {state}")
    lines.append(f"  overlaps on a stream: {len(report['overlaps'])}")
    lines += [
        f"    {' and '.join(o['taskIds'])}  {o['stream']}  {o['seconds']} s from {when(o['from'])}"
        for o in report["overlaps"]
    ]
    for fix in report["fixed"]:
        if "staleTaskId" in fix:
            outcome = "removed (DeleteRecordTask)" if fix.get("removed") else f"left: {fix.get('error')}"
            lines.append(f"  fix: stale task {fix['staleTaskId']} -> {outcome}")
            continue
        outcome = f"new task {fix['newTaskId']}" if fix.get("newTaskId") else f"failed: {fix.get('error')}"
        lines.append(f"  fix: booking {fix['bookingId']} task {fix['missingTaskId']} -> {outcome}")
    lines.append(f"unfixed: {report['unfixed']}" if report["unfixed"] else "all consistent")
    return "\n".join(lines)
