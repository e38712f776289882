"""`upcoming`'s picture: per stream, one ASCII bar per task across the horizon, and the axis above it."""

from __future__ import annotations

from typing import Any

from record_task.cli.context import when

BAR_WIDTH = 48
DAY = 86400


def timeline(report: dict[str, Any]) -> str:
    """The `upcoming` report as text: a header, then per stream its axis and a bar per task."""
    start, end = report["from"], report["until"]
    count = sum(len(s["tasks"]) for s in report["streams"])
    lines = [
        f"recording between {when(start)} and {when(end)} ({report['hours']} h): "
        f"{len(report['streams'])} stream(s), {count} task(s); one mark = {(end - start) // BAR_WIDTH} s"
    ]
    if not report["streams"] and not report["deferred"]:
        lines.append("nothing is booked to record")
    clock = 11 if end - start <= DAY else 5  # within a day the time says it all; beyond, the date too
    middle = start + (end - start) // 2
    axis = when(start)[clock:16].ljust(BAR_WIDTH // 2) + when(middle)[clock:16]
    axis = axis.ljust(BAR_WIDTH + 1 - (16 - clock)) + when(end)[clock:16]
    for stream in report["streams"]:
        lines += ["", stream["name"], f"   {axis}"]
        for row in stream["tasks"]:
            who = row["bookingId"] or "(none)"
            lines.append(
                f"  |{bar(row['startTime'], row['endTime'], start, end)}|  {who}  {row['taskId']}  "
                f"{when(row['startTime'])[clock:]}-{when(row['endTime'])[clock:]} "
                f"{row['endTime'] - row['startTime']} s  Tencent: {row['tencent']}"
            )
    if report["deferred"]:
        lines.append("")
    for row in report["deferred"]:
        lines.append(
            f"deferred, no task yet (the sweep makes it): {row['bookingId']}  "
            f"{when(row['startTime'])} .. {when(row['endTime'])}"
        )
    return "\n".join(lines)


def bar(task_start: int, task_end: int, start: int, end: int) -> str:
    """`#` where the task records (at least one mark, however short), `.` elsewhere."""
    span = end - start
    first = max(0, (max(task_start, start) - start) * BAR_WIDTH // span)
    last = min(BAR_WIDTH, -(-(min(task_end, end) - start) * BAR_WIDTH // span))
    last = max(last, first + 1)
    return "." * first + "#" * (last - first) + "." * (BAR_WIDTH - last)
