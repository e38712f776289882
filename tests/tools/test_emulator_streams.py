"""What the emulator knows of streams (CONTRACT.md section 8), checked through the unmodified SDK: the API
accepts overlapping tasks on one stream, the platform records at most three of them at once (the seconds a
fourth misses), DescribeRecordTask finds a stream's tasks in a range a page at a time, and a stream's
timeline is the function's tasks as they count (a deleted one not at all, a stopped one up to its stop)."""

from __future__ import annotations

from tests.tools.conftest import NOW, REGION, control, describe_all, error_code, sdk_call
from tools.emulator import Emulator, Span, Stream, overlaps

DAY = 86400
DOMAIN, APP = "5000.live.push.com", "live"


def create(emulator: Emulator, start: int, end: int, stream: str = "cam", **names: str) -> str:
    params = {"StreamName": stream, "DomainName": DOMAIN, "AppName": APP, "StartTime": start, "EndTime": end}
    return str(sdk_call(emulator, "CreateRecordTask", {**params, **names})["TaskId"])


def on(stream: str = "cam") -> Stream:
    return Stream(REGION, DOMAIN, APP, stream)


# -- (a) the API accepts overlapping tasks on one stream ------------------------------------------------------


def test_overlapping_tasks_on_one_stream_are_all_accepted(frozen: Emulator) -> None:
    made = [create(frozen, NOW + 60 + n, NOW + 3600) for n in range(5)]
    made.append(create(frozen, NOW + 60, NOW + 3600))  # the very same window again
    assert [t["TaskId"] for t in frozen.tasks] == made and {t["Status"] for t in frozen.tasks} == {"created"}


# -- (b) at most three recordings of one stream at once ----------------------------------------------------------


def test_three_at_once_miss_nothing_a_fourth_misses_while_three_record(frozen: Emulator) -> None:
    a, b, c = (create(frozen, NOW + 100 + 10 * n, NOW + 200 + 10 * n) for n in range(3))
    assert frozen.missed_recordings() == {}
    d = create(frozen, NOW + 130, NOW + 230)
    e = create(frozen, NOW + 205, NOW + 250)  # starts while b, c and d still record
    assert frozen.missed_recordings() == {on(): [Span(NOW + 130, NOW + 200, d), Span(NOW + 205, NOW + 210, e)]}
    assert len({a, b, c, d, e}) == 5


def test_the_first_started_record_and_ties_go_to_the_first_created(frozen: Emulator) -> None:
    made = [create(frozen, NOW + 100, NOW + 200) for _ in range(5)]
    (missed,) = frozen.missed_recordings().values()
    assert sorted(span.task_id for span in missed) == sorted(made[3:])  # spans sort by time, then task id
    assert {(span.start, span.end) for span in missed} == {(NOW + 100, NOW + 200)}


def test_a_stop_frees_its_slot_a_delete_before_the_start_never_takes_one(frozen: Emulator) -> None:
    made = [create(frozen, NOW + 60, NOW + 3600) for _ in range(5)]
    sdk_call(frozen, "DeleteRecordTask", {"TaskId": made[0]})  # before its window: it records nothing
    frozen.set_clock(NOW + 120)
    sdk_call(frozen, "StopRecordTask", {"TaskId": made[1]})  # recorded 60..120, then freed its slot
    assert frozen.missed_recordings() == {on(): [Span(NOW + 60, NOW + 120, made[4])]}


def test_a_task_deleted_while_it_records_goes_on_holding_its_slot(frozen: Emulator) -> None:
    made = [create(frozen, NOW + 60, NOW + 3600) for _ in range(4)]
    frozen.set_clock(NOW + 120)
    sdk_call(frozen, "DeleteRecordTask", {"TaskId": made[0]})  # the docs: deleting does not stop a running task
    assert frozen.missed_recordings() == {on(): [Span(NOW + 60, NOW + 3600, made[3])]}


def test_a_task_created_under_way_records_from_its_creation_so_comes_last(frozen: Emulator) -> None:
    for _ in range(3):
        create(frozen, NOW + 60, NOW + 3600)
    frozen.set_clock(NOW + 600)
    late = create(frozen, NOW, NOW + 3600)  # its StartTime has passed: it records from now, the others already do
    assert frozen.missed_recordings() == {on(): [Span(NOW + 600, NOW + 3600, late)]}


def test_streams_do_not_share_the_three(frozen: Emulator) -> None:
    for stream in ("cam", "other"):
        for _ in range(3):
            create(frozen, NOW + 60, NOW + 3600, stream)
    create(frozen, NOW + 60, NOW + 3600, "cam", AppName="live2")  # another app: another stream
    params = {"StreamName": "cam", "DomainName": DOMAIN, "AppName": APP, "StartTime": NOW + 60, "EndTime": NOW + 3600}
    sdk_call(frozen, "CreateRecordTask", params, region="ap-tokyo")  # another region: another stream
    assert frozen.missed_recordings() == {}


def test_missed_over_http(frozen: Emulator) -> None:
    made = [create(frozen, NOW + 100, NOW + 200) for _ in range(4)]
    status, streams = control(frozen, "missed")
    assert status == 200 and streams == [
        {**on().to_dict(), "Spans": [{"TaskId": made[3], "Start": NOW + 100, "End": NOW + 200}]}
    ]


# -- (c) DescribeRecordTask by stream and range, a page at a time -------------------------------------------------


def test_describe_filters_by_each_name_and_lists_only_tasks_inside_the_range(frozen: Emulator) -> None:
    frozen.page_size = 2
    mine = [create(frozen, NOW + 60 * n, NOW + 60 * n + 600) for n in range(1, 6)]  # overlapping, one stream
    other_domain = create(frozen, NOW + 60, NOW + 600, DomainName="6000.live.push.com")
    other_app = create(frozen, NOW + 60, NOW + 600, AppName="live2")
    other_stream = create(frozen, NOW + 60, NOW + 600, "other")
    create(frozen, NOW + DAY - 60, NOW + DAY + 60)  # ends after the range: not listed
    window = {"StartTime": NOW, "EndTime": NOW + DAY}
    names = {"StreamName": "cam", "DomainName": DOMAIN, "AppName": APP}
    assert describe_all(frozen, {**window, **names}) == (mine, 3)
    assert describe_all(frozen, {**window, "StreamName": "cam", "AppName": APP}) == (
        sorted_by_start(frozen, [*mine, other_domain]),
        3,
    )
    assert describe_all(frozen, {**window, "DomainName": DOMAIN, "StreamName": "cam"})[0] == sorted_by_start(
        frozen, [*mine, other_app]
    )
    assert other_stream in describe_all(frozen, {**window, "AppName": APP})[0]
    assert describe_all(frozen, {"StartTime": NOW + 120, "EndTime": NOW + 1000, **names})[0] == mine[1:]


def sorted_by_start(emulator: Emulator, task_ids: list[str]) -> list[str]:
    tasks = {t["TaskId"]: t for t in emulator.tasks}
    return sorted(task_ids, key=lambda task_id: (tasks[task_id]["StartTime"], task_id))


def test_describe_lists_the_fields_of_the_sdks_record_task(frozen: Emulator) -> None:
    task_id = create(frozen, NOW + 60, NOW + 600)
    (listed,) = sdk_call(frozen, "DescribeRecordTask", {"StartTime": NOW, "EndTime": NOW + DAY})["TaskList"]
    names = {"DomainName": DOMAIN, "AppName": APP, "StreamName": "cam"}
    window = {"StartTime": NOW + 60, "EndTime": NOW + 600}
    assert listed == {"TaskId": task_id, **names, **window, "TemplateId": 0, "Stopped": 0}


def test_describe_refuses_an_empty_name(frozen: Emulator) -> None:
    query = {"StartTime": NOW, "EndTime": NOW + DAY, "StreamName": ""}
    assert error_code(frozen, "DescribeRecordTask", query) == "InvalidParameter"


# -- (d) a stream's timeline --------------------------------------------------------------------------------------


def test_the_timeline_holds_the_tasks_that_count_sorted_and_overlaps_are_named(frozen: Emulator) -> None:
    late = create(frozen, NOW + 3600, NOW + 7200)
    first = create(frozen, NOW + 60, NOW + 1800)
    deleted = create(frozen, NOW + 1800, NOW + 3600)
    stopped = create(frozen, NOW + 1800, NOW + 3600)
    elsewhere = create(frozen, NOW + 60, NOW + 7200, "other")
    sdk_call(frozen, "DeleteRecordTask", {"TaskId": deleted})
    frozen.set_clock(NOW + 2400)
    sdk_call(frozen, "StopRecordTask", {"TaskId": stopped})
    expected = [
        Span(NOW + 60, NOW + 1800, first),
        Span(NOW + 1800, NOW + 2400, stopped),
        Span(NOW + 3600, NOW + 7200, late),
    ]
    assert frozen.timeline() == {on(): expected, on("other"): [Span(NOW + 60, NOW + 7200, elsewhere)]}
    assert overlaps(expected) == []  # touching is not overlapping
    clash = create(frozen, NOW + 3000, NOW + 3700)
    assert overlaps(frozen.timeline()[on()]) == [
        (Span(NOW + 3000, NOW + 3700, clash), Span(NOW + 3600, NOW + 7200, late))
    ]


def test_a_task_deleted_while_it_records_is_not_on_the_timeline(frozen: Emulator) -> None:
    task_id = create(frozen, NOW + 60, NOW + 600)
    frozen.set_clock(NOW + 120)
    sdk_call(frozen, "DeleteRecordTask", {"TaskId": task_id})
    assert frozen.timeline() == {}


def test_timeline_over_http(frozen: Emulator) -> None:
    task_id = create(frozen, NOW + 60, NOW + 600)
    assert control(frozen, "timeline") == (
        200,
        [{**on().to_dict(), "Spans": [{"TaskId": task_id, "Start": NOW + 60, "End": NOW + 600}]}],
    )
