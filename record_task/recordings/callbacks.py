"""Tencent CSS recording callbacks: what an authenticated one says (`parse_callback`; its signature is
checked by `signatures.verify_callback`). Pure, so every rule is tested without a server.
A recording callback with unusable fields is a `MalformedCallback` value, not an exception: the route answers
it 200 and reports it, since Tencent retries anything else. Field names and types: tests/fixtures/tencent/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from record_task.errors import ErrorInfo
from record_task.sources.fields import has_lone_surrogate

RECORDING_FILE, RECORDING_STATUS, RECORDING_EXCEPTION = 100, 332, 341
MAX_ID = 256  # task, session, file and stream ids
MAX_URL = 2048
MAX_ECHO = 1024  # any one string echoed under `recordEvent`: a result stays far below SNS's 256 KB
_MAX_DIGITS = 12  # UNIX seconds until the year 33658; longer is garbage, not a time


class RecordingState(StrEnum):
    STARTED = "recording_started"
    PAUSED = "recording_paused"
    RESUMED = "recording_resumed"
    ENDED = "recording_ended"
    FAILED = "recording_failed"


# Event 332's published `record_event` values; every abnormal recording (341) is FAILED.
RECORD_EVENTS: Mapping[str, RecordingState] = {
    "record_start_succeeded": RecordingState.STARTED,
    "record_start_failed": RecordingState.FAILED,
    "record_paused": RecordingState.PAUSED,
    "record_resumed": RecordingState.RESUMED,
    "record_error": RecordingState.FAILED,
    "record_ended": RecordingState.ENDED,
}
# The published fields echoed under `recordEvent` (t and sign authenticate; they are not the event).
STATUS_FIELDS: tuple[str, ...] = ("appid", "appname", "domain", "stream_id", "task_id", "session_id", "seq")
STATUS_FIELDS += ("event_time", "record_event", "record_detail")
EXCEPTION_FIELDS: tuple[str, ...] = ("appid", "domain", "path", "stream_id", "session_id", "file_format")
EXCEPTION_FIELDS += ("timestamp", "exception_level", "exception")
_EXCEPTION_DETAIL = ("type", "occurs", "desc")


@dataclass(frozen=True)
class RecordingFile:
    """Event 100: one file of a recording (a split window or a reconnect makes several)."""

    task_id: str  # "" when the body has none: not a CreateRecordTask recording
    stream_name: str
    file_id: str
    file_format: str
    video_url: str
    start_time: int
    end_time: int
    duration: int
    file_size: int
    session_id: str  # from `callback_ext`, "" when absent: it links the file to 332/341 events

    @property
    def dedup_key(self) -> tuple[str, str]:
        return (self.task_id, self.file_id)

    def recording(self) -> dict[str, Any]:
        """The result's `recording` object (docs/contract.md, "Recording callbacks")."""
        names = ("task_id", "file_id", "file_format", "video_url", "start_time", "end_time", "duration", "file_size")
        return {_camel(name): getattr(self, name) for name in (*names, "stream_name")}


@dataclass(frozen=True)
class RecordingStatus:
    """Event 332 (a status change) or 341 (an abnormal recording, which never names its task_id)."""

    task_id: str
    session_id: str
    stream_name: str
    event_type: int
    status: RecordingState
    dedup: str  # event type, session, the event's own sequence/time fields (< 512 chars): same when redelivered
    fields: dict[str, Any]  # the published fields, strings cut at MAX_ECHO: the result's `recordEvent`


@dataclass(frozen=True)
class OtherEvent:
    event_type: int  # an authenticated callback nothing here acts on: push, snapshot, ...


@dataclass(frozen=True)
class MalformedCallback:
    event_type: int | None  # a recording callback whose fields cannot be used; `error.field` names the first
    error: ErrorInfo


def parse_callback(body: Mapping[str, Any]) -> RecordingFile | RecordingStatus | OtherEvent | MalformedCallback:
    """What an authenticated callback says; never raises for any JSON object."""
    event_type = natural(body.get("event_type"))
    if event_type is None:
        return MalformedCallback(None, _error("event_type", "must be an integer"))
    if event_type == RECORDING_FILE:
        return _recording_file(body)
    if event_type in (RECORDING_STATUS, RECORDING_EXCEPTION):
        return _recording_status(body, event_type)
    return OtherEvent(event_type)


def _recording_file(body: Mapping[str, Any]) -> RecordingFile | MalformedCallback:
    f = _Fields(body)
    start, end = f.natural("start_time"), f.natural("end_time")
    found = RecordingFile(
        task_id=f.text("task_id", required=False),
        stream_name=f.text("stream_id"),
        file_id=f.text("file_id"),
        file_format=f.text("file_format", limit=16),
        video_url=f.text("video_url", limit=MAX_URL),
        start_time=start,
        end_time=end,
        duration=f.natural("duration"),
        file_size=f.natural("file_size"),
        session_id=_session_of(body.get("callback_ext")),
    )
    if end < start:
        f.fail("end_time", "must not be before start_time")
    return found if f.error is None else MalformedCallback(RECORDING_FILE, f.error)


def _recording_status(body: Mapping[str, Any], event_type: int) -> RecordingStatus | MalformedCallback:
    f = _Fields(body)
    task_id, stream = f.text("task_id", required=False), f.text("stream_id")
    if event_type == RECORDING_STATUS:
        session = f.text("session_id", required=False)
        event = f.text("record_event", limit=64)
        status = RECORD_EVENTS.get(event, RecordingState.FAILED)
        if event and event not in RECORD_EVENTS:
            f.fail("record_event", f"must be one of {', '.join(RECORD_EVENTS)}")
        own = (f.text("seq", required=False, limit=64), str(f.natural("event_time")), event)
        fields = _echo(body, STATUS_FIELDS)
    else:
        session, status = f.text("session_id"), RecordingState.FAILED
        detail = body.get("exception")
        if not isinstance(detail, Mapping):
            f.fail("exception", "must be an object with type, occurs and desc")
            detail = {}
        kind = _echo(detail, ("type", "occurs"))  # bounded, as the key must be
        own = (str(f.natural("timestamp")), str(kind.get("type", ""))[:64], str(kind.get("occurs", ""))[:64])
        fields = _echo(body, EXCEPTION_FIELDS)
    if f.error is not None:
        return MalformedCallback(event_type, f.error)
    dedup = "|".join((str(event_type), session, *own))
    return RecordingStatus(task_id, session, stream, event_type, status, dedup, fields)


class _Fields:
    """Reads a body's fields; the first unusable one is kept as the error (a value, not an exception)."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body
        self.error: ErrorInfo | None = None

    def fail(self, name: str, rule: str) -> None:
        if self.error is None:
            self.error = _error(name, rule)

    def text(self, name: str, *, required: bool = True, limit: int = MAX_ID) -> str:
        value = self.body.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
            self.fail(name, f"must be a {'non-empty ' if required else ''}string of at most {limit} characters")
            return ""
        return value

    def natural(self, name: str) -> int:
        value = natural(self.body.get(name))
        if value is None:
            self.fail(name, "must be a non-negative integer")
            return 0
        return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _error(name: str, rule: str) -> ErrorInfo:
    return ErrorInfo(code="InvalidParameter", message=f"the callback's {name} {rule}", field=name)


def json_object(raw: bytes | str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, an integer too long, or nested too deep
        return None
    return value if isinstance(value, dict) and not has_lone_surrogate(value) else None


def natural(value: object) -> int | None:
    """A uint64 (the widest published type), given as a JSON number or a string of at most 12 digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64:
        return value
    return None


def _session_of(callback_ext: object) -> str:
    """`callback_ext` is a string holding a JSON object; its `session_id` is "for reference only"."""
    ext = json_object(callback_ext) if isinstance(callback_ext, str) and len(callback_ext) <= MAX_ECHO else None
    session = ext.get("session_id") if ext else None
    return session if isinstance(session, str) and len(session) <= MAX_ID else ""


def _echo(body: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields that are strings (cut at MAX_ECHO) or integers, and 341's `exception` object likewise."""
    echoed: dict[str, Any] = {}
    for name, value in ((name, body[name]) for name in names if name in body):
        if isinstance(value, str | int):  # bool is an int: kept as sent
            echoed[name] = value[:MAX_ECHO] if isinstance(value, str) else value
        elif name == "exception" and isinstance(value, Mapping):
            echoed[name] = _echo(value, _EXCEPTION_DETAIL)
    return echoed
