"""Field readers every source shares: times, texts within their limits, integers, stream values.

Each raises `InvalidBooking` naming the field, so a source module reads like its payload's layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any

from record_task.errors import InvalidBooking
from record_task.model.booking import StreamFields

# A seconds timestamp this large is past the year 5138: it is milliseconds sent as seconds.
_MAX_SECONDS = 100_000_000_000
_MAX_TIME_CHARS = 64
# Longest accepted text per kind of field: what the API, the ledger's key (2,048 bytes) and a result
# (SNS: 256 KB) can hold. Longer input is rejected naming the field, never retried.
MAX_ID_CHARS = 256
STREAM_LIMITS = {"stream_name": 256, "domain_name": 253, "app_name": 128, "extension": 2048, "region": 32}


def stream_fields_from(lookup: Callable[[str], tuple[object, str]]) -> StreamFields:
    """Typed stream values from a source's lookup: attribute name -> (raw value, path for errors)."""
    values: dict[str, Any] = {}
    for item in fields(StreamFields):
        raw, path = lookup(item.name)
        if isinstance(raw, str):
            raw = raw.strip()
        if item.name in ("stream_type", "template_id"):
            values[item.name] = optional_int(raw, path)
        else:
            values[item.name] = optional_text(raw, path, STREAM_LIMITS[item.name])
    return StreamFields(**values)


def required_window(data: dict[str, Any], prefix: str, start_key: str, end_key: str) -> tuple[int, int]:
    """A booking system's start and end: both required, in order, errors naming `prefix.key`."""
    start_path, end_path = f"{prefix}.{start_key}", f"{prefix}.{end_key}"
    for key, path in ((start_key, start_path), (end_key, end_path)):
        if data.get(key) is None:
            raise InvalidBooking(f"{path} is required", field=path)
    start = parse_instant(data[start_key], start_path)
    end = parse_instant(data[end_key], end_path, round_up=True)
    if end <= start:
        raise InvalidBooking(f"{end_path} must be after {start_path}", field=end_path)
    return start, end


def parse_instant(value: object, field_name: str, *, round_up: bool = False) -> int:
    """UNIX seconds from an integer or an ISO 8601 string that carries its offset.

    Refuses what is usually a mistake rather than guessing: booleans, fractional seconds as numbers,
    millisecond timestamps, and ISO strings without an offset (their time zone is unknown).
    ISO fractions are rounded outward (`round_up` for an end) so the window never shrinks.
    """
    if isinstance(value, bool):
        raise InvalidBooking(f"{field_name} must be UNIX seconds or ISO 8601, not a boolean", field=field_name)
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidBooking(f"{field_name} must be whole UNIX seconds; {value!r} has a fraction", field=field_name)
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise InvalidBooking(f"{field_name} must not be negative", field=field_name)
        if value >= _MAX_SECONDS:
            raise InvalidBooking(f"{field_name} {value} looks like milliseconds; send UNIX seconds", field=field_name)
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidBooking(f"{field_name} must not be empty", field=field_name)
        if len(text) > _MAX_TIME_CHARS:
            raise InvalidBooking(f"{field_name} is too long to be a time", field=field_name)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidBooking(
                f"{field_name} {value!r} is not UNIX seconds or an ISO 8601 date-time", field=field_name
            ) from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidBooking(
                f"{field_name} {value!r} has no UTC offset; add one such as 'Z' or '+08:00'", field=field_name
            )
        seconds = moment.timestamp()
        return math.ceil(seconds) if round_up else math.floor(seconds)
    raise InvalidBooking(
        f"{field_name} must be UNIX seconds or an ISO 8601 string, not {type(value).__name__}", field=field_name
    )


def require_text(value: object, field_name: str, limit: int = MAX_ID_CHARS) -> str:
    """A non-empty string of at most `limit` characters, or a rejection naming the field."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidBooking(f"{field_name} is required and must be a non-empty string", field=field_name)
    return _within(value.strip(), field_name, limit)


def optional_text(value: object, field_name: str, limit: int = MAX_ID_CHARS) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidBooking(f"{field_name} must be a string", field=field_name)
    return _within(value, field_name, limit)


def _within(text: str, field_name: str, limit: int) -> str:
    if has_lone_surrogate(text):
        raise InvalidBooking(f"{field_name} is not valid Unicode: it holds a lone UTF-16 surrogate", field=field_name)
    if len(text) > limit:
        raise InvalidBooking(
            f"{field_name} is {len(text)} characters long; at most {limit} are allowed", field=field_name
        )
    return text


def has_lone_surrogate(value: object) -> bool:
    """JSON may spell half a UTF-16 pair (`"\\ud83d"`); such text cannot be stored (DynamoDB wants UTF-8)."""
    if isinstance(value, str):
        return not value.isascii() and any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(item) for item in value)
    return False


def is_blank(value: object) -> bool:
    """Not given: None, or a string of white space only."""
    return value is None or (isinstance(value, str) and not value.strip())


def last_segment(uri: str) -> str:
    """The id at the end of a resource URI (`.../scheduled_events/ABC` -> `ABC`)."""
    return uri.rstrip("/").rsplit("/", 1)[-1].strip()


def optional_int(value: object, field_name: str) -> int | None:
    """An integer (or an integral numeric string, as forms send them), or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidBooking(f"{field_name} must be an integer, not a boolean", field=field_name)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise InvalidBooking(f"{field_name} must be an integer", field=field_name)
