"""How every Tencent error code ends: retried (transient), held for the operator, or failed for good."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from record_task.errors import OperatorError, PermanentFailure, TransientFailure
from record_task.tencent.errors import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    backoff_delay,
    failure_for,
    is_transient,
    needs_operator,
)

TRANSIENT = [
    "InternalError",
    "InternalError.GetConfigError",
    "InternalError.NetworkError",
    "InternalError.SystemError",
    "RequestLimitExceeded",
    "RequestLimitExceeded.UinLimitExceeded",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
    "LimitExceeded.MaximumRunningTask",
    "ClientNetworkError",  # the SDK: no answer (refused, reset, timed out)
    "ServerNetworkError",  # the SDK: an answer that is not HTTP 200
]
OPERATOR = [  # docs/contract.md, "Nothing valid is refused": the operator fixes it, then a retry succeeds
    "AuthFailure.SignatureFailure",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.SignatureExpire",
    "AuthFailure.UnauthorizedOperation",
    "AuthFailure",
    "UnauthorizedOperation",
    "UnauthorizedOperation.Unauthorized",
    "IpInBlacklist",
    "IpNotInWhitelist",
    "ResourceNotFound.ForbidService",
    "ResourceNotFound.FreezeService",
    "ResourceNotFound.StopService",
]
PERMANENT = [
    "InvalidParameter",
    "InvalidParameter.InvalidTaskId",
    "InvalidParameterValue",
    "MissingParameter",
    "UnknownParameter",
    "ResourceNotFound.TaskId",
    "ResourceUnavailable.InvalidVodStatus",
    "UnsupportedOperation",
    "UnsupportedRegion",
    "LimitExceeded",  # a quota, not a rate
    "FailedOperation",
    "InternalErrorButNotReally",  # families match on a dot, not on a prefix
    "ClientParamsError",
]


@pytest.mark.parametrize("code", TRANSIENT)
def test_transient_codes(code: str) -> None:
    failure = failure_for("CreateRecordTask", code, "try later", "req-1")
    assert is_transient(code) and isinstance(failure, TransientFailure) and failure.code == code


@pytest.mark.parametrize("code", PERMANENT)
def test_permanent_codes(code: str) -> None:
    failure = failure_for("DeleteRecordTask", code, "no")
    assert not is_transient(code) and isinstance(failure, PermanentFailure) and failure.code == code


@pytest.mark.parametrize("code", OPERATOR)
def test_codes_the_operator_must_fix_are_held_not_final(code: str) -> None:
    failure = failure_for("CreateRecordTask", code, "key")
    assert needs_operator(code) and not is_transient(code)
    assert isinstance(failure, OperatorError) and not isinstance(failure, PermanentFailure) and failure.code == code


@given(st.text(min_size=1, max_size=40))
def test_unknown_codes_are_permanent_unless_of_a_transient_family(code: str) -> None:
    family = code.split(".")[0]
    expected = code in TRANSIENT or family in ("InternalError", "RequestLimitExceeded")
    assert is_transient(code) == expected


def test_the_message_names_the_action_and_carries_tencents_words() -> None:
    failure = failure_for("StopRecordTask", "UnsupportedOperation", "the task has not started", "4f2c")
    assert failure.message == "StopRecordTask failed: UnsupportedOperation: the task has not started (RequestId 4f2c)"
    assert failure.field is None and failure.info.to_dict()["code"] == "UnsupportedOperation"


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_grows_exponentially_to_a_cap_with_jitter(attempt: int) -> None:
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    delays = {backoff_delay(attempt) for _ in range(50)}
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays) and len(delays) > 1
