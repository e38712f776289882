"""What every transport does to a body before a source reads it: strict JSON, and SNS envelopes undone."""

from __future__ import annotations

import json
from typing import Any

from record_task.errors import InvalidBooking


def parse_json_body(raw: bytes | str) -> object:
    """Strict JSON (UTF-8, no NaN/Infinity); anything else is an InvalidBooking, never another error."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidBooking(f"body is not valid JSON: not UTF-8 (byte {exc.start})", field="body") from None
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidBooking(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", field="body"
        ) from None
    except ValueError as exc:  # NaN/Infinity, or an integer longer than Python converts
        raise InvalidBooking(f"body is not valid JSON: {exc}", field="body") from None
    except RecursionError:
        raise InvalidBooking("body is not valid JSON: nested too deeply", field="body") from None
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def unwrap_sns(body: object, source: str | None) -> tuple[object, str | None]:
    """An SNS `Notification` envelope (SNS -> SQS without raw delivery) as its message and `source`.

    The envelope's `MessageAttributes.source` counts as the SQS message attribute; a message that is
    not JSON is rejected naming `Message`.
    """
    if not (isinstance(body, dict) and body.get("Type") == "Notification" and isinstance(body.get("Message"), str)):
        return body, source
    attributes = body.get("MessageAttributes")
    attribute = attributes.get("source") if isinstance(attributes, dict) else None
    if source is None and isinstance(attribute, dict) and isinstance(attribute.get("Value"), str):
        source = attribute["Value"]
    try:
        return parse_json_body(body["Message"]), source
    except InvalidBooking as exc:
        raise InvalidBooking(exc.message.replace("body", "Message", 1), field="Message") from None
