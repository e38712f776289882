"""The JSON Schemas of docs/schemas/ against the code: what the schemas accept, the function accepts, and
every result the function can build validates against result.schema.json (the e2e and integration tests
validate every result they actually publish, through the `stack` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from record_task.errors import ErrorInfo, InvalidBooking
from record_task.model.results import Result, Status, TaskRecord, iso
from record_task.sources.bodies import parse_json_body
from record_task.sources.direct import FIELDS, parse_direct
from record_task.sources.registry import BY_NAME, SOURCES, parse_bookings, shape_of
from tests.schemas import SCHEMAS, assert_valid, problems_with
from tools.local_aws import MotoStack

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
FIXTURES = ROOT / "tests" / "fixtures"
INPUT_SCHEMAS = {"direct": "booking.schema.json", "calcom": "calcom.schema.json", "calendly": "calendly.schema.json"}
BY_PATH = {source.path: source.name for source in SOURCES}
RECORDING_STATES = ("recording_started", "recording_paused", "recording_resumed", "recording_ended", "recording_failed")


def test_every_schema_is_a_valid_2020_12_schema() -> None:
    names = sorted(path.name for path in SCHEMAS.glob("*.json"))
    assert {"booking.schema.json", "result.schema.json", "webhook-answer.schema.json"} <= set(names)
    for name in names:
        schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        assert problems_with({}, name) is not None  # compiles, and its references resolve


# -- inputs: the samples of events/ and the recorded payloads of tests/fixtures/ ----------------------------


def _sample_bodies() -> list[tuple[str, str | None, str]]:
    """(sample name, source named by its route or None for the queue, raw body) of every events/ file."""
    found: list[tuple[str, str | None, str]] = []
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        if "Records" in event:
            found += [(f"{path.name}[{n}]", None, r["body"]) for n, r in enumerate(event["Records"])]
        elif "rawPath" in event:
            found.append((path.name, BY_PATH[event["rawPath"]], event["body"]))
    return found


def _fixture_bodies() -> list[tuple[str, str | None, str]]:
    return [
        (f"{path.parent.name}/{path.name}", path.parent.name, path.read_text(encoding="utf-8"))
        for source in ("calcom", "calendly")
        for path in sorted((FIXTURES / source).glob("*.json"))
    ]


def _verdicts(source_name: str | None, raw: str) -> tuple[bool, bool, str | None]:
    """Whether the schema of its source accepts the body, whether the function parses it, and the source."""
    try:
        body = parse_json_body(raw)
    except InvalidBooking:
        return False, False, source_name  # not JSON: no schema can accept it, and the function rejects it
    shaped = shape_of(body)
    name = source_name or (shaped.name if shaped else None)
    assert name is not None, f"no source for {raw[:200]}"
    schema_ok = not problems_with(body, INPUT_SCHEMAS[name])
    try:
        parse_bookings(body, BY_NAME[name])
    except InvalidBooking:
        return schema_ok, False, name
    return schema_ok, True, name


@pytest.mark.parametrize(("sample", "source", "raw"), _sample_bodies() + _fixture_bodies(), ids=lambda v: str(v)[:60])
def test_the_input_schema_accepts_a_sample_exactly_when_the_function_reads_it(
    sample: str, source: str | None, raw: str
) -> None:
    schema_ok, parsed, _ = _verdicts(source, raw)
    assert schema_ok == parsed, f"{sample}: schema says {schema_ok}, the function {parsed}"


def test_every_sample_not_meant_to_be_invalid_is_valid() -> None:
    samples = _sample_bodies()
    direct = [s for s in samples if _verdicts(s[1], s[2])[2] == "direct"]
    assert direct, "events/ holds direct-format samples"
    for name, source, raw in samples:
        if "invalid" not in name:
            assert _verdicts(source, raw)[:2] == (True, True), name


def test_the_booking_schema_names_exactly_the_direct_fields() -> None:
    schema = json.loads((SCHEMAS / "booking.schema.json").read_text(encoding="utf-8"))
    assert set(schema["properties"]) == FIELDS
    for example in schema["examples"]:
        assert_valid(example, "booking.schema.json")
        parse_direct(example)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Streamname": "typo"}, "Streamname"),
        ({"EndTime": "2026-12-01T10:00:00"}, "EndTime"),  # no offset
        ({"EndTime": 1764561600000}, "EndTime"),  # milliseconds
        ({"EndTime": 1764561600.5}, "EndTime"),
        ({"StartTime": True}, "StartTime"),
        ({"Action": "delete"}, "Action"),
        ({"BookingId": " "}, "BookingId"),
        ({"BookingId": "b" * 257}, "BookingId"),
        ({"StreamName": "s" * 257}, "StreamName"),
        ({"DomainName": "d" * 254}, "DomainName"),
        ({"AppName": "a" * 129}, "AppName"),
        ({"Extension": "e" * 2049}, "Extension"),
        ({"EventType": "t" * 257}, "EventType"),
    ],
)
def test_the_booking_schema_refuses_what_the_function_refuses(change: dict[str, Any], field: str) -> None:
    body = {"BookingId": "b-1", "StreamName": "room-1", "StartTime": 1764554400, "EndTime": 1764561600, **change}
    assert problems_with(body, "booking.schema.json")
    with pytest.raises(InvalidBooking) as refused:
        parse_direct(body)
    assert refused.value.info.field == field


@pytest.mark.parametrize(
    ("change", "rule"),
    [({"StreamType": 2}, "StreamType"), ({"TemplateId": -1}, "TemplateId"), ({"Region": "us-east-1"}, "Region")],
)
def test_the_booking_schema_holds_the_api_rules_it_can_express(change: dict[str, Any], rule: str) -> None:
    body = {"BookingId": "b-1", "EndTime": 1764561600, **change}
    assert any(p.startswith(rule) for p in problems_with(body, "booking.schema.json"))


def test_a_create_needs_an_end_and_a_cancel_only_its_id() -> None:
    assert problems_with({"BookingId": "b-1"}, "booking.schema.json")
    assert problems_with({"BookingId": "b-1", "EndTime": None}, "booking.schema.json")
    assert not problems_with({"BookingId": "b-1", "Action": "cancel"}, "booking.schema.json")


def _names(limit: int) -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=limit).filter(str.strip)


_good_times = st.one_of(
    st.integers(min_value=0, max_value=99_999_999_999),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat(sep=" ", timespec="minutes")),
)
_good = {  # field -> values the function reads
    "Action": st.just("create"),  # a cancel reads nothing else: it would hide the other fields
    "StartTime": st.one_of(_good_times, st.none()),
    "EndTime": _good_times,
    "StreamName": _names(256),
    "DomainName": _names(253),
    "AppName": _names(128),
    "StreamType": st.sampled_from([0, 1, None]),
    "TemplateId": st.integers(min_value=0, max_value=10**9),
    "Extension": st.text(max_size=2048),
    "Region": st.sampled_from(["ap-singapore", "eu-frankfurt", "na-toronto"]),
    "EventType": st.text(max_size=256),
}
_wild = {  # field -> anything, mostly what the function refuses
    "BookingId": st.one_of(st.text(max_size=300), st.integers(), st.none(), st.just(" ")),
    "Action": st.sampled_from(["Create", "delete", None, 1]),
    "StartTime": st.one_of(
        st.integers(min_value=-5, max_value=200_000_000_000),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.datetimes().map(lambda d: d.isoformat()),  # no offset, in three spellings
        st.datetimes().map(lambda d: d.isoformat(sep=" ")),
        st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
        st.text(max_size=70),
    ),
    "StreamName": st.one_of(st.text(max_size=300), st.integers(), st.just(" ")),
    "StreamType": st.one_of(st.integers(-1, 3), st.sampled_from(["1", 1.0, True])),
    "TemplateId": st.one_of(st.integers(-2, 3), st.sampled_from(["7", 1.5, False])),
    "Region": st.one_of(st.sampled_from(["us-east-1", ""]), st.text(max_size=40)),
    "Streamname": st.text(max_size=5),
}
_wild["EndTime"] = _wild["StartTime"]


@st.composite
def _direct_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A readable booking, often with one field replaced by a wild value: so both verdicts occur."""
    body: dict[str, Any] = {"BookingId": draw(_names(256)), "EndTime": draw(_good_times)}
    for key in draw(st.sets(st.sampled_from(sorted(_good)))):
        body[key] = draw(_good[key])
    wild = draw(st.one_of(st.none(), st.sampled_from(sorted(_wild)), st.sampled_from(sorted(_wild))))
    if wild is not None:
        body[wild] = draw(_wild[wild])
    return body


@given(_direct_bodies())
def test_every_body_the_booking_schema_accepts_the_function_reads(body: dict[str, Any]) -> None:
    if not problems_with(body, "booking.schema.json"):
        parse_direct(body)


# -- results -----------------------------------------------------------------------------------------------

_ids = st.text(max_size=400)  # longer than any limit: what the message echoes is bounded
_seconds = st.integers(min_value=0, max_value=2**40)
_NO_OPERATION: st.SearchStrategy[str | None] = st.none()
_errors = st.builds(ErrorInfo, code=st.sampled_from(["InvalidParameter", "FailedOperation", "InternalError"]),
                    message=st.text(max_size=2000), field=st.one_of(st.none(), _ids))  # fmt: skip


def _tasks(operation: st.SearchStrategy[str | None] = _NO_OPERATION) -> st.SearchStrategy[TaskRecord]:
    return st.builds(
        TaskRecord, task_id=_ids, request_id=_ids, start_time=_seconds, end_time=_seconds, stream_name=_ids,
        domain_name=_ids, app_name=_ids, region=st.just("ap-singapore"), operation=operation,
    )  # fmt: skip


@st.composite
def _results(draw: st.DrawFn, status: Status) -> Result:
    """A result with what the code gives a result of that status."""
    recording_event = status == "recorded" or status in RECORDING_STATES
    values: dict[str, Any] = {
        "booking_id": draw(st.one_of(st.none(), _ids)),
        "action": "record" if recording_event else draw(st.sampled_from(["create", "cancel", None])),
        "source": "tencent" if recording_event else draw(st.sampled_from(["direct", "calcom", "calendly", None])),
        "trigger": draw(st.one_of(st.none(), _ids)),
        "received_at": iso(draw(st.integers(min_value=0, max_value=10**10))),
        "tasks": tuple(draw(st.lists(_tasks(), max_size=3))),
    }
    if status == "created":
        values["tasks"] = tuple(draw(st.lists(_tasks(), min_size=1, max_size=3)))
    elif status == "deferred":
        values["tasks"] = ()
        values["window"] = (draw(_seconds), draw(_seconds))
    elif status == "cancelled":
        values["tasks"] = tuple(draw(st.lists(_tasks(st.sampled_from(["deleted", "stopped"])), max_size=3)))
        values["reason"] = None if values["tasks"] else "deferred booking cancelled before its task was created"
    elif status in ("rejected", "failed"):
        values["error"] = draw(_errors)
    elif status == "skipped":
        values["reason"] = draw(st.text(max_size=300))
        values["error"] = draw(st.one_of(st.none(), _errors))
    if status == "recorded":
        names = ("taskId", "fileId", "fileFormat", "videoUrl", "streamName")
        recording: dict[str, Any] = {name: draw(_ids) for name in names}
        recording.update({name: draw(_seconds) for name in ("startTime", "endTime", "duration", "fileSize")})
        values["recording"] = recording
    if status in RECORDING_STATES or (status == "skipped" and values["action"] == "record"):
        values["record_event"] = draw(
            st.dictionaries(st.text(max_size=20), st.one_of(st.text(max_size=50), st.integers(), st.booleans()))
        )
    return Result(status=status, **values)


ANSWER_ONLY = {"queued"}  # a webhook's answer, never published (docs/contract.md, "Nothing valid is refused")
PUBLISHED = [status for status in get_args(Status) if status not in ANSWER_ONLY]


@pytest.mark.parametrize("status", PUBLISHED)
@given(data=st.data())
def test_every_result_the_model_builds_validates(status: Status, data: st.DataObject) -> None:
    assert_valid(data.draw(_results(status)).to_message(), "result.schema.json")


@given(data=st.data())
def test_a_queued_answer_validates_as_a_webhook_answer_and_never_as_a_result(data: st.DataObject) -> None:
    message = data.draw(_results("queued")).to_message()
    assert_valid(message, "webhook-answer.schema.json")
    assert problems_with(message, "result.schema.json")


def test_the_schema_knows_every_status_of_the_model() -> None:
    schema = json.loads((SCHEMAS / "result.schema.json").read_text(encoding="utf-8"))
    assert set(schema["$defs"]["status"]["enum"]) == set(PUBLISHED)


TASK: dict[str, Any] = {
    "taskId": "t-1", "requestId": "r-1", "startTime": 1, "endTime": 2, "streamName": "room",
    "domainName": "5000.live.push.com", "appName": "live", "region": "ap-singapore",
}  # fmt: skip
CREATED: dict[str, Any] = {
    "status": "created", "bookingId": "b-1", "action": "create", "source": "direct", "trigger": None,
    "tasks": [TASK], "error": None, "receivedAt": "2026-11-24T10:00:00Z",
}  # fmt: skip


def _task(**values: Any) -> dict[str, Any]:
    return {**TASK, **values}


@pytest.mark.parametrize(
    "change",
    [
        {"status": "queued"},  # an answer, never a published result
        {"status": "created", "tasks": []},
        {"status": "deferred", "tasks": []},  # no window
        {"status": "rejected"},  # no error
        {"status": "failed", "error": None},
        {"status": "skipped"},  # no reason
        {"status": "recorded", "action": "record", "source": "tencent"},  # no recording
        {"status": "recording_ended", "action": "record", "source": "tencent"},  # no recordEvent
        {"status": "cancelled", "tasks": [_task()]},  # no operation
        {"receivedAt": "2026-11-24T10:00:00+00:00"},
        {"bookingId": "b" * 257},
        {"extra": 1},
        {"tasks": [_task(extra=1)]},
        {"error": {"code": "X", "message": "m"}},  # field is always present
    ],
    ids=lambda change: json.dumps(change)[:60],
)
def test_the_result_schema_refuses_a_result_that_breaks_the_contract(change: dict[str, Any]) -> None:
    assert problems_with({**CREATED, **change}, "result.schema.json")


def test_a_task_made_for_a_neighbour_names_its_booking() -> None:
    assert_valid({**CREATED, "tasks": [_task(), _task(taskId="t-2", bookingId="b-0")]}, "result.schema.json")


def test_the_stack_fixture_fails_a_test_whose_result_breaks_the_schema(stack: MotoStack) -> None:
    stack.client("sns").publish(
        TopicArn=stack.topic_arn,
        Message=json.dumps({**CREATED, "status": "queued"}),
        MessageAttributes={"status": {"DataType": "String", "StringValue": "queued"}},
    )
    with pytest.raises(AssertionError, match=r"result\.schema\.json"):
        stack.results()


def test_the_stack_fixture_checks_the_filter_attributes(stack: MotoStack) -> None:
    stack.client("sns").publish(
        TopicArn=stack.topic_arn,
        Message=json.dumps(CREATED),
        MessageAttributes={"status": {"DataType": "String", "StringValue": "failed"}},
    )
    with pytest.raises(AssertionError, match="message attributes"):
        stack.results()
