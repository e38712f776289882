"""How a Tencent answer ends: transient (worth another attempt), held for the operator (never final), or
permanent (never), and the backoff.

Kept apart from the adapter so the classification is one table that unit tests pin code by code.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from record_task.errors import OperatorError, PermanentFailure, RecordTaskError, TransientFailure

Answer = dict[str, Any]

NETWORK_ERRORS = frozenset({"ClientNetworkError", "ServerNetworkError"})
RATE_LIMITED = "RequestLimitExceeded"
_TRANSIENT_CODES = NETWORK_ERRORS | {"LimitExceeded.MaximumRunningTask"}
_TRANSIENT_FAMILIES = ("InternalError", RATE_LIMITED)
# Codes the operator must fix (docs/contract.md, "Nothing valid is refused"): keys wrong or revoked, an
# account frozen or in arrears. Held: retried, never a booking's final outcome.
_OPERATOR_CODES = frozenset(
    {
        "IpInBlacklist",
        "IpNotInWhitelist",
        "ResourceNotFound.ForbidService",
        "ResourceNotFound.FreezeService",
        "ResourceNotFound.StopService",
    }
)
_OPERATOR_FAMILIES = ("AuthFailure", "UnauthorizedOperation")
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 3.0


def is_transient(code: str) -> bool:
    """Worth retrying: server trouble, throttling, the running-task cap, the network. Anything else,
    including codes nobody documented, is permanent: sending the same request again cannot change it."""
    return code in _TRANSIENT_CODES or any(code == f or code.startswith(f + ".") for f in _TRANSIENT_FAMILIES)


def needs_operator(code: str) -> bool:
    """Only the operator can fix it: a retry after the fix succeeds, so it is never final."""
    return code in _OPERATOR_CODES or any(code == f or code.startswith(f + ".") for f in _OPERATOR_FAMILIES)


def failure_for(action: str, code: str, message: str, request_id: str | None = None) -> RecordTaskError:
    """The failure a Tencent error becomes, carrying Tencent's own message and request id."""
    text = f"{action} failed: {code}: {message}"
    if request_id:
        text += f" (RequestId {request_id})"
    if needs_operator(code):
        return OperatorError(text, code=code)
    return (TransientFailure if is_transient(code) else PermanentFailure)(text, code=code)


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with equal jitter: never zero, never in lockstep with other threads."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** min(attempt, 16))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def outcome_of(action: str, call: Callable[[], Any]) -> Answer | RecordTaskError:
    """The SDK's answer as a value: the `Response` object, or the failure it stands for."""
    try:
        body = call()
    except TencentCloudSDKException as exc:
        code = str(exc.get_code() or "ClientNetworkError")
        return failure_for(action, code, str(exc.get_message()), exc.get_request_id())
    except json.JSONDecodeError:  # e.g. a proxy's HTML page: no answer from the API
        return TransientFailure(f"{action} failed: the answer is not JSON", code="ServerNetworkError")
    except OSError as exc:  # the SDK wraps network errors only while sending, not while reading
        return TransientFailure(f"{action} failed: {exc}", code="ClientNetworkError")
    response = body.get("Response") if isinstance(body, dict) else None
    if not isinstance(response, dict):
        return TransientFailure(f"{action} failed: the answer holds no Response object", code="ServerNetworkError")
    error = response.get("Error")
    if isinstance(error, dict):  # the SDK only parses errors sent as application/json or text/plain
        code = str(error.get("Code") or "FailedOperation")
        return failure_for(action, code, str(error.get("Message", "")), response.get("RequestId"))
    return response
