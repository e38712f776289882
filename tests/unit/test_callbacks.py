"""Tencent CSS recording callbacks (published shapes, see tests/fixtures/tencent): signature and parsing rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from record_task.errors import SignatureError
from record_task.recordings.callbacks import (
    EXCEPTION_FIELDS,
    MAX_ECHO,
    MAX_URL,
    STATUS_FIELDS,
    MalformedCallback,
    OtherEvent,
    RecordingFile,
    RecordingState,
    RecordingStatus,
    parse_callback,
)
from record_task.recordings.signature import sign_callback, verify_callback

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tencent"
KEY = "tencent-callback-test-key"  # the key every fixture is signed with
API_TASK = "UpTbk5RSVhRQx9ZQlxaRVRLU1JAWW9EUbxzVEpMSlNTQltlRVRLU1JAWW9EUb"
SESSION = "2918085116267032069"


def fixture(name: str, **fields: Any) -> dict[str, Any]:
    """A fixture body with fields replaced (None removes one)."""
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    for key, value in fields.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def raw(body: object) -> bytes:
    return json.dumps(body).encode()


def refusal(data: bytes, key: str | None = KEY, now: int = 1_800_000_000) -> str:
    with pytest.raises(SignatureError) as caught:
        verify_callback(data, key, now)
    message = str(caught.value)
    assert KEY not in message
    return message


def parsed(name: str, **fields: Any) -> Any:
    return parse_callback(fixture(name, **fields))


# -- the signature -----------------------------------------------------------------------------------------------

FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_is_signed_as_published_and_accepted_until_its_t(name: str) -> None:
    body = fixture(name)
    assert body["sign"] == sign_callback(KEY, body["t"])
    for now in (body["t"] - 600, body["t"]):  # sent, and the last second it is valid
        assert verify_callback(raw(body), KEY, now) == body
    assert "expired" in refusal(raw(body), now=body["t"] + 1)


def test_sign_is_the_md5_of_key_then_decimal_t() -> None:
    assert sign_callback(KEY, 1800004200) == "68ad3d4cef593c509f607c375e783462"  # computed once, by hand
    assert sign_callback("", 0) == "cfcd208495d565ef66e7dff9f98764da"  # md5("0")


def test_t_may_be_a_string_of_digits_and_sign_any_case() -> None:
    body = fixture("record_status")
    accepted = {**body, "t": str(body["t"]), "sign": body["sign"].upper()}
    assert verify_callback(raw(accepted), KEY, body["t"]) == accepted


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"sign": "0" * 32}, "sign does not match"),
        ({"sign": "4f06e50425fc992fb9fb6ba6b23a57d"}, "sign does not match"),  # one digit short
        ({"sign": 12345}, "sign does not match"),
        ({"sign": "é" * 32}, "sign does not match"),
        ({"t": 1800000603}, "sign does not match"),  # a later expiry than the one signed
        ({"t": "soon"}, "decimal digits"),
        ({"t": -1}, "decimal digits"),
        ({"t": True}, "decimal digits"),
        ({"t": 1800000602.0}, "decimal digits"),
        ({"t": "1800000602.5"}, "decimal digits"),
        ({"t": "1" * 13}, "decimal digits"),
        ({"t": [1800000602]}, "decimal digits"),
    ],
)
def test_a_callback_not_proven_to_come_from_tencent_is_refused(change: dict[str, Any], expected: str) -> None:
    assert expected in refusal(raw(fixture("record_status", **change)))


@pytest.mark.parametrize("missing", ["t", "sign"])
def test_a_body_without_t_or_sign_cannot_be_authenticated(missing: str) -> None:
    body = fixture("record_status")
    del body[missing]
    assert "cannot be authenticated" in refusal(raw(body))


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[1, 2]", b'"t"', b"null", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000],
    ids=["empty", "text", "array", "string", "null", "not-utf8", "nested-too-deep"],
)
def test_a_body_that_is_not_a_json_object_cannot_be_authenticated(data: bytes) -> None:
    assert "cannot be authenticated" in refusal(data)


@pytest.mark.parametrize("key", [None, ""])
def test_without_a_key_every_callback_is_refused_naming_the_setting(key: str | None) -> None:
    assert "TENCENT_CALLBACK_KEY is not configured" in refusal(raw(fixture("record_file")), key=key)


def test_another_key_is_refused() -> None:
    assert "sign does not match" in refusal(raw(fixture("record_file")), key="another-key")


# -- event 100: a recording file -----------------------------------------------------------------------------------


def test_a_file_of_an_api_task_is_read_with_the_published_fields() -> None:
    found = parsed("record_file")
    assert found == RecordingFile(
        task_id=API_TASK,
        stream_name="room-42",
        file_id="5285890807530151617",
        file_format="mp4",
        video_url="http://12345678.vod2.myqcloud.com/d5f2f0aavodtranssgp12345678/9b0e0f0e5285890807530151617/f0.mp4",
        start_time=1800000000,
        end_time=1800003600,
        duration=3600,
        file_size=902932480,
        session_id=SESSION,
    )
    assert found.dedup_key == (API_TASK, "5285890807530151617")
    assert found.recording() == {
        "taskId": API_TASK,
        "fileId": "5285890807530151617",
        "fileFormat": "mp4",
        "videoUrl": found.video_url,
        "startTime": 1800000000,
        "endTime": 1800003600,
        "duration": 3600,
        "fileSize": 902932480,
        "streamName": "room-42",
    }


@pytest.mark.parametrize(
    ("name", "task_id", "session_id"),
    [
        ("record_file_template", "1820625260475124043", "1820625260475124043"),  # a template's own id
        ("record_file_no_task", "", ""),  # the older published sample: no task_id at all
    ],
)
def test_files_not_made_by_create_record_task_keep_what_they_say(name: str, task_id: str, session_id: str) -> None:
    found = parsed(name)
    assert isinstance(found, RecordingFile)
    assert (found.task_id, found.session_id) == (task_id, session_id)


@pytest.mark.parametrize("callback_ext", [None, "", "not json", "[1]", '{"session_id": 7}', json.dumps({"x": 1})])
def test_an_unusable_callback_ext_only_loses_the_session(callback_ext: str | None) -> None:
    found = parsed("record_file", callback_ext=callback_ext)
    assert isinstance(found, RecordingFile) and found.session_id == ""


def test_numbers_sent_as_digit_strings_are_read() -> None:
    found = parsed("record_file", event_type="100", duration="3600", file_size="902932480")
    assert isinstance(found, RecordingFile) and (found.duration, found.file_size) == (3600, 902932480)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stream_id", None),
        ("stream_id", ""),
        ("stream_id", 42),
        ("file_id", None),
        ("file_id", " "),
        ("file_format", None),
        ("file_format", ["mp4"]),
        ("video_url", None),
        ("video_url", "http://x/" + "a" * MAX_URL),
        ("task_id", 42),
        ("task_id", "t" * 257),
        ("start_time", None),
        ("start_time", "yesterday"),
        ("end_time", 1799999999),  # before start_time
        ("duration", -1),
        ("file_size", 2**64),
        ("file_size", 1.5),
    ],
)
def test_a_malformed_file_callback_is_a_value_naming_the_field(field: str, value: Any) -> None:
    found = parsed("record_file", **{field: value})
    assert isinstance(found, MalformedCallback)
    assert (found.event_type, found.error.field, found.error.code) == (100, field, "InvalidParameter")
    assert field in found.error.message


# -- events 332 and 341: recording status ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_event", "status"),
    [
        ("record_start_succeeded", RecordingState.STARTED),
        ("record_start_failed", RecordingState.FAILED),
        ("record_paused", RecordingState.PAUSED),
        ("record_resumed", RecordingState.RESUMED),
        ("record_error", RecordingState.FAILED),
        ("record_ended", RecordingState.ENDED),
    ],
)
def test_every_published_record_event_maps_to_a_status(record_event: str, status: RecordingState) -> None:
    found = parsed("record_status", record_event=record_event)
    assert isinstance(found, RecordingStatus)
    assert (found.task_id, found.session_id, found.stream_name, found.event_type) == (API_TASK, SESSION, "room-42", 332)
    assert found.status == status and found.status.value.startswith("recording_")
    assert found.dedup == f"332|{SESSION}|3266441426274648065|1800000002|{record_event}"
    assert found.fields["record_event"] == record_event


def test_a_status_echoes_its_published_fields_but_not_t_or_sign() -> None:
    found = parsed("record_status", extra="not published")
    assert isinstance(found, RecordingStatus)
    body = fixture("record_status")
    assert found.fields == {name: body[name] for name in STATUS_FIELDS}


def test_an_abnormal_recording_is_a_failure_placed_by_its_session() -> None:
    found = parsed("record_exception")
    assert isinstance(found, RecordingStatus)
    assert (found.task_id, found.session_id, found.stream_name) == ("", SESSION, "room-42")
    assert (found.event_type, found.status) == (341, RecordingState.FAILED)
    assert found.dedup == f"341|{SESSION}|1800002400|-16|1"
    body = fixture("record_exception")
    assert found.fields == {name: body[name] for name in EXCEPTION_FIELDS}
    assert "interface" not in found.fields and "sign" not in found.fields


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("record_status", {"t": 1800009999, "sign": "resigned"}),  # a redelivery re-signed later
        ("record_exception", {"t": 1800009999, "sign": "resigned", "exception_level": "warning"}),
    ],
)
def test_a_redelivered_status_has_the_same_dedup(name: str, change: dict[str, Any]) -> None:
    assert parsed(name).dedup == parsed(name, **change).dedup


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("record_status", {"seq": "3266441426274648066"}),
        ("record_status", {"event_time": 1800000003}),
        ("record_status", {"record_event": "record_ended"}),
        ("record_status", {"session_id": "another"}),
        ("record_exception", {"timestamp": 1800002460}),
        ("record_exception", {"exception": {"type": -9, "desc": "x", "occurs": 1}}),
        ("record_exception", {"exception": {"type": -16, "desc": "x", "occurs": 2}}),
    ],
)
def test_another_event_has_another_dedup(name: str, change: dict[str, Any]) -> None:
    assert parsed(name).dedup != parsed(name, **change).dedup


def test_echoed_fields_are_bounded_scalars() -> None:
    found = parsed("record_status", record_detail="x" * 100_000, appname=["a"], domain={"a": 1})
    assert isinstance(found, RecordingStatus)
    assert found.fields["record_detail"] == "x" * MAX_ECHO
    assert "appname" not in found.fields and "domain" not in found.fields
    nested = {"type": -16, "desc": "d" * 5000, "occurs": 1, "deeper": {"a": 1}, "list": [1]}
    found = parsed("record_exception", exception=nested)
    assert isinstance(found, RecordingStatus)
    assert found.fields["exception"] == {"type": -16, "desc": "d" * MAX_ECHO, "occurs": 1}


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("record_status", "record_event", None),
        ("record_status", "record_event", "record_mp4_created"),  # seen in the wild, not published
        ("record_status", "stream_id", None),
        ("record_status", "event_time", None),
        ("record_status", "event_time", "later"),
        ("record_status", "seq", 3266441426274648065),  # published as a string
        ("record_status", "session_id", ["x"]),
        ("record_exception", "session_id", None),
        ("record_exception", "timestamp", None),
        ("record_exception", "exception", "pull failed"),
        ("record_exception", "stream_id", ""),
    ],
)
def test_a_malformed_status_callback_is_a_value_naming_the_field(name: str, field: str, value: Any) -> None:
    found = parsed(name, **{field: value})
    assert isinstance(found, MalformedCallback) and found.error.field == field


# -- everything else -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", [0, 1, "1", 200, 317, 321, 99999])
def test_other_event_types_are_recognised_and_left_alone(event_type: int | str) -> None:
    assert parsed("push_start", event_type=event_type) == OtherEvent(int(event_type))


@pytest.mark.parametrize("event_type", [None, "recording", -1, 1.0, True, [100]])
def test_a_body_without_a_usable_event_type_is_malformed(event_type: Any) -> None:
    found = parsed("record_file", event_type=event_type)
    assert isinstance(found, MalformedCallback) and (found.event_type, found.error.field) == (None, "event_type")


# -- any input ----------------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
NAMES = sorted({*STATUS_FIELDS, *EXCEPTION_FIELDS, *fixture("record_file"), "t", "sign"})


@given(
    st.sampled_from(FIXTURE_NAMES),
    st.dictionaries(st.sampled_from(NAMES), JSON, max_size=6),
    st.sampled_from([100, 332, 341, 1, "100", None]),
)
@settings(max_examples=400, deadline=None)
def test_any_body_is_parsed_into_a_value_never_an_exception(name: str, changes: dict[str, Any], kind: Any) -> None:
    body = {**fixture(name), **changes, "event_type": kind}
    found = parse_callback(body)
    assert isinstance(found, RecordingFile | RecordingStatus | OtherEvent | MalformedCallback)
    if isinstance(found, RecordingFile):
        assert len(found.video_url) <= MAX_URL and found.end_time >= found.start_time
    if isinstance(found, RecordingStatus):
        assert len(found.dedup) < 512 and len(json.dumps(found.fields)) < 16 * MAX_ECHO
    if isinstance(found, MalformedCallback):
        assert found.error.field is not None and found.error.field in found.error.message


@given(st.binary(max_size=200) | JSON.map(lambda value: json.dumps(value).encode()))
@settings(max_examples=300, deadline=None)
def test_any_bytes_are_verified_or_refused_never_an_exception(data: bytes) -> None:
    try:
        body = verify_callback(data, KEY, 0)
    except SignatureError as refused:
        assert KEY not in str(refused)
    else:
        assert body["sign"] == sign_callback(KEY, int(body["t"]))
