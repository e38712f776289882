"""The wire contract of the Live API (service `live`, version 2018-08-01) as the emulator enforces it: the
regions and parameters each action accepts, the error an answer carries, and how parameters are read.

Error codes are the documented ones: the common codes (AuthFailure.*, MissingParameter, UnknownParameter,
InvalidAction, NoSuchVersion, UnsupportedRegion, RequestLimitExceeded) and, per action, those the SDK lists
for it (CreateRecordTask: InvalidParameter for every rule it breaks; ResourceNotFound.TaskId for an unknown
task). Where the documentation is silent the choice is written down where it is made.
"""

from __future__ import annotations

import json
from typing import Any

REGIONS = frozenset(
    {
        "ap-bangkok",
        "ap-guangzhou",
        "ap-hongkong",
        "ap-jakarta",
        "ap-mumbai",
        "ap-seoul",
        "ap-singapore",
        "ap-tokyo",
        "eu-frankfurt",
        "na-ashburn",
        "na-siliconvalley",
        "na-toronto",
        "sa-saopaulo",
    }
)
VERSION = "2018-08-01"
SERVICE = "live"

ACTION_PARAMS = {
    "CreateRecordTask": {
        "StreamName",
        "DomainName",
        "AppName",
        "EndTime",
        "StartTime",
        "StreamType",
        "TemplateId",
        "Extension",
    },
    "DeleteRecordTask": {"TaskId"},
    "StopRecordTask": {"TaskId"},
    "DescribeRecordTask": {"StartTime", "EndTime", "StreamName", "DomainName", "AppName", "ScrollToken"},
}


class ApiError(Exception):
    """An answer `{"Response": {"Error": {"Code", "Message"}}}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def params(body: bytes) -> dict[str, Any]:
    """The request's parameters: a JSON object, or InvalidParameter."""
    try:
        found = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError("InvalidParameter", "the request body is not JSON") from None
    if not isinstance(found, dict):
        raise ApiError("InvalidParameter", "the request body must be a JSON object")
    return found


def text(p: dict[str, Any], name: str) -> str:
    if name not in p:
        raise ApiError("MissingParameter", f"the parameter `{name}` is missing")
    value = p[name]
    if not isinstance(value, str) or not value.strip():
        raise ApiError("InvalidParameter", f"{name} must be a non-empty string")
    return value


def required_integer(p: dict[str, Any], name: str) -> int:
    value = integer(p, name)
    if value is None:
        raise ApiError("MissingParameter", f"the parameter `{name}` is missing")
    return value


def integer(p: dict[str, Any], name: str) -> int | None:
    if name not in p:
        return None
    value = p[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("InvalidParameter", f"{name} must be an integer")
    return value
