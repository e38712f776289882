"""The key revoked for a while: every signed call is answered with the AuthFailure the real API gives a
deleted or disabled key, until the key is restored; a soak phase turns this on and off mid-run."""

from __future__ import annotations

import pytest

from record_task.errors import OperatorError
from record_task.model.tasks import RecordTaskRequest
from record_task.tencent.api import RecordTaskApi
from tests.tools.conftest import KEYS, NOW, REGION, control, error_code
from tools.emulator import Emulator

CREATE = {"StreamName": "s", "DomainName": "d", "AppName": "a", "StartTime": NOW + 60, "EndTime": NOW + 600}
QUERY = {"StartTime": NOW, "EndTime": NOW + 3600}


@pytest.mark.parametrize("code", ["AuthFailure.SecretIdNotFound", "AuthFailure.SignatureFailure"])
def test_every_signed_call_is_refused_until_the_key_is_restored(frozen: Emulator, code: str) -> None:
    frozen.revoke_key(code)
    assert error_code(frozen, "CreateRecordTask", CREATE) == code
    assert error_code(frozen, "DescribeRecordTask", QUERY) == code
    assert error_code(frozen, "DeleteRecordTask", {"TaskId": "RTX"}) == code
    assert frozen.tasks == [] and [action for action, _ in frozen.calls].count("CreateRecordTask") == 1
    frozen.restore_key()
    assert error_code(frozen, "CreateRecordTask", CREATE) is None and len(frozen.tasks) == 1


def test_only_an_auth_failure_stands_for_a_revoked_key(frozen: Emulator) -> None:
    with pytest.raises(ValueError, match="AuthFailure"):
        frozen.revoke_key("InternalError")
    assert error_code(frozen, "DescribeRecordTask", QUERY) is None


def test_reset_restores_the_key(frozen: Emulator) -> None:
    frozen.revoke_key()
    frozen.reset()
    assert error_code(frozen, "DescribeRecordTask", QUERY) is None


def test_revoke_and_restore_over_http(frozen: Emulator) -> None:
    assert control(frozen, "revoke", {}) == (200, {"ok": True})
    assert error_code(frozen, "DescribeRecordTask", QUERY) == "AuthFailure.SecretIdNotFound"
    assert control(frozen, "revoke", {"code": "AuthFailure.SignatureFailure"})[0] == 200
    assert error_code(frozen, "DescribeRecordTask", QUERY) == "AuthFailure.SignatureFailure"
    assert control(frozen, "revoke", {"code": "RequestLimitExceeded"})[0] == 400
    assert control(frozen, "restore", {}) == (200, {"ok": True})
    assert error_code(frozen, "DescribeRecordTask", QUERY) is None


def test_the_adapter_holds_a_revoked_key_for_the_operator_and_succeeds_once_restored(frozen: Emulator) -> None:
    """What a soak phase relies on: the function sees an operator's problem, not a booking's, while the key
    is revoked, and the same call goes through once it is back."""
    api = RecordTaskApi(endpoint=frozen.endpoint, default_region=REGION, credentials=lambda: KEYS)
    request = RecordTaskRequest(
        stream_name="s", domain_name="d", app_name="a", start_time=NOW + 600, end_time=NOW + 4200, region=REGION
    )
    frozen.revoke_key()
    with pytest.raises(OperatorError) as caught:
        api.create_record_task(request)
    assert caught.value.code == "AuthFailure.SecretIdNotFound" and frozen.tasks == []
    frozen.restore_key()
    assert api.create_record_task(request).task_id == frozen.tasks[0]["TaskId"]
