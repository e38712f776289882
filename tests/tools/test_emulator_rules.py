"""The emulator's own rules, driven through the unmodified SDK (it signs; the emulator verifies).

The adapter tests trust these rules, so each is pinned here: TC3 signature checks, the documented
CreateRecordTask rules, the delete/stop lifecycle and DescribeRecordTask pagination (the per-second limit
and the knobs are test_emulator_knobs.py).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from tests.tools.conftest import KEYS, NOW, REGION, describe_all, error_code, sdk_call
from tools.emulator import Emulator

DAY = 86400


def create(emulator: Emulator, **params: Any) -> str:
    body = {"StreamName": "s", "DomainName": "d.push", "AppName": "live", "StartTime": NOW + 60, "EndTime": NOW + 3600}
    return str(sdk_call(emulator, "CreateRecordTask", {**body, **params})["TaskId"])


def signed_request(emulator: Emulator, action: str, params: dict[str, Any], **profile: Any) -> RequestInternal:
    """The request exactly as the SDK signs it, to be sent (or tampered with) by hand."""
    scheme, host = emulator.endpoint.split("://")
    client_profile = ClientProfile(httpProfile=HttpProfile(protocol=scheme, endpoint=host))
    for name, value in profile.items():
        setattr(client_profile, name, value)
    client = CommonClient("live", "2018-08-01", credential.Credential(*KEYS), REGION, profile=client_profile)
    request = RequestInternal(host, "POST", "/", header={})
    client._build_req_inter(action, params, request)
    return request


def send(emulator: Emulator, request: RequestInternal, body: str | None = None) -> dict[str, Any]:
    data = (request.data if body is None else body).encode()
    headers = {name: value for name, value in request.header.items() if name != "Host"}
    http = urllib.request.Request(emulator.endpoint + "/", data=data, headers=headers, method="POST")
    with urllib.request.urlopen(http, timeout=5) as answer:
        response: dict[str, Any] = json.load(answer)["Response"]
        return response


# -- signatures --------------------------------------------------------------------------------------


def test_signatures_are_verified(frozen: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    query = {"StartTime": NOW, "EndTime": NOW + DAY}
    assert error_code(frozen, "DescribeRecordTask", query) is None
    assert error_code(frozen, "DescribeRecordTask", query, keys=(KEYS[0], "wrong")) == "AuthFailure.SignatureFailure"
    assert error_code(frozen, "DescribeRecordTask", query, keys=("AKIDX", KEYS[1])) == "AuthFailure.SecretIdNotFound"
    real_time = time.time
    # A signature ahead of the emulator's clock gets closer while the call travels: +330 leaves a slow host
    # half a minute; one behind only gets older, so -301 cannot pass by load.
    for skew, expected in [(-301, "AuthFailure.SignatureExpire"), (330, "AuthFailure.SignatureExpire"), (-240, None)]:
        monkeypatch.setattr(
            abstract_client, "time", type("T", (), {"time": staticmethod(lambda s=skew: real_time() + s)})
        )
        assert error_code(frozen, "DescribeRecordTask", query) == expected, skew


def test_tampered_requests_are_refused(frozen: Emulator) -> None:
    query = {"StartTime": NOW, "EndTime": NOW + DAY}
    request = signed_request(frozen, "DescribeRecordTask", query)
    assert "Error" not in send(frozen, request)
    tampered = json.dumps({**query, "StartTime": NOW + 1})
    assert send(frozen, request, body=tampered)["Error"]["Code"] == "AuthFailure.SignatureFailure"
    request.header["Authorization"] = request.header["Authorization"].replace("Credential=", "Cred=")
    assert send(frozen, request)["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    unsigned_payload = signed_request(frozen, "DescribeRecordTask", query, unsignedPayload=True)
    assert "Error" not in send(frozen, unsigned_payload, body=tampered)  # the payload is not signed then


def test_version_action_and_region_are_checked(frozen: Emulator) -> None:
    query = {"StartTime": NOW, "EndTime": NOW + DAY}
    assert error_code(frozen, "DescribeRecordTask", query, version="2019-01-01") == "NoSuchVersion"
    assert error_code(frozen, "DescribeRecordTasks", query) == "InvalidAction"
    assert error_code(frozen, "DescribeRecordTask", query, region="ap-beijing") == "UnsupportedRegion"
    assert error_code(frozen, "DescribeRecordTask", query, region="") == "MissingParameter"
    assert error_code(frozen, "DescribeRecordTask", {**query, "Region": REGION}) == "UnknownParameter"


# -- CreateRecordTask ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        ({"StreamName": None}, "MissingParameter"),
        ({"DomainName": ""}, "InvalidParameter"),
        ({"AppName": 7}, "InvalidParameter"),
        ({"EndTime": None}, "MissingParameter"),
        ({"EndTime": "1800003600"}, "InvalidParameter"),
        ({"StartTime": True}, "InvalidParameter"),
        ({"StartTime": NOW + 3600}, "InvalidParameter"),  # EndTime == StartTime
        ({"StartTime": NOW - 7200, "EndTime": NOW}, "InvalidParameter"),  # over
        ({"StartTime": NOW - 7200, "EndTime": NOW + 1}, None),  # under way: records from now
        ({"EndTime": NOW + 60 + DAY}, None),  # exactly 24 hours
        ({"EndTime": NOW + 60 + DAY + 1}, "InvalidParameter"),
        ({"StartTime": NOW + 6 * DAY, "EndTime": NOW + 6 * DAY + 60}, None),  # exactly 6 days ahead
        ({"StartTime": NOW + 6 * DAY + 1, "EndTime": NOW + 6 * DAY + 60}, "InvalidParameter"),
        ({"StreamType": 1}, None),
        ({"StreamType": 2}, "InvalidParameter"),
        ({"TemplateId": 0}, None),
        ({"TemplateId": -1}, "InvalidParameter"),
        ({"Extension": 5}, "InvalidParameter"),
        ({"Region": REGION}, "UnknownParameter"),
    ],
)
def test_create_rules(frozen: Emulator, change: dict[str, Any], expected: str | None) -> None:
    body: dict[str, Any] = {
        "StreamName": "s",
        "DomainName": "d.push",
        "AppName": "live",
        "StartTime": NOW + 60,
        "EndTime": NOW + 3600,
    }
    body.update(change)
    body = {name: value for name, value in body.items() if value is not None}
    assert error_code(frozen, "CreateRecordTask", body) == expected
    assert len(frozen.tasks) == (1 if expected is None else 0)


@pytest.mark.parametrize("region", ["ap-bangkok", "eu-frankfurt", "na-toronto", "sa-saopaulo"])
def test_create_in_a_served_region_with_defaults(frozen: Emulator, region: str) -> None:
    body = {"StreamName": "s", "DomainName": "d", "AppName": "a", "EndTime": NOW + 60}
    sdk_call(frozen, "CreateRecordTask", body, region=region)
    (task,) = frozen.tasks
    assert (task["Region"], task["StartTime"], task["StreamType"], task["TemplateId"]) == (region, NOW, 0, None)


# -- delete and stop -------------------------------------------------------------------------------------


def test_delete_before_the_window_removes_the_task(frozen: Emulator) -> None:
    task_id = create(frozen)
    assert error_code(frozen, "DeleteRecordTask", {"TaskId": task_id}) is None
    assert [t["Status"] for t in frozen.tasks] == ["deleted"]
    for action in ("DeleteRecordTask", "StopRecordTask"):
        assert error_code(frozen, action, {"TaskId": task_id}) == "ResourceNotFound.TaskId"
    assert sdk_call(frozen, "DescribeRecordTask", {"StartTime": NOW, "EndTime": NOW + DAY})["TaskList"] == []


def test_delete_during_the_window_lets_the_recording_go_on(frozen: Emulator) -> None:
    task_id = create(frozen)
    frozen.set_clock(NOW + 120)
    assert error_code(frozen, "DeleteRecordTask", {"TaskId": task_id}) is None
    assert [t["Status"] for t in frozen.tasks] == ["deleted_running"]
    assert error_code(frozen, "StopRecordTask", {"TaskId": task_id}) == "ResourceNotFound.TaskId"


def test_stop_only_in_the_window(frozen: Emulator) -> None:
    first, second = create(frozen), create(frozen, StreamName="other", StartTime=NOW + 61)
    assert error_code(frozen, "StopRecordTask", {"TaskId": first}) == "UnsupportedOperation"  # not started
    frozen.set_clock(NOW + 120)
    assert error_code(frozen, "StopRecordTask", {"TaskId": first}) is None
    frozen.set_clock(NOW + 180)
    assert error_code(frozen, "StopRecordTask", {"TaskId": first}) is None  # again: already done
    frozen.set_clock(NOW + 3600)
    assert error_code(frozen, "StopRecordTask", {"TaskId": second}) == "UnsupportedOperation"  # over
    assert [(t["Status"], t["Stopped"]) for t in frozen.tasks] == [("stopped", NOW + 120), ("created", 0)]
    listed = sdk_call(frozen, "DescribeRecordTask", {"StartTime": NOW, "EndTime": NOW + DAY})["TaskList"]
    assert [(t["TaskId"], t["Stopped"]) for t in listed] == [(first, NOW + 120), (second, 0)]


def test_task_ids_are_required_and_regional(frozen: Emulator) -> None:
    task_id = create(frozen)
    assert error_code(frozen, "DeleteRecordTask", {}) == "MissingParameter"
    assert error_code(frozen, "DeleteRecordTask", {"TaskId": task_id}, region="ap-tokyo") == "ResourceNotFound.TaskId"
    assert error_code(frozen, "DeleteRecordTask", {"TaskId": "RT-UNKNOWN"}) == "ResourceNotFound.TaskId"


# -- DescribeRecordTask ------------------------------------------------------------------------------


def test_describe_pages_with_scroll_tokens(frozen: Emulator) -> None:
    frozen.page_size = 2
    made = [create(frozen, StartTime=NOW + 60 * n, EndTime=NOW + 60 * n + 30) for n in range(5)]
    create(frozen, StreamName="other")
    create(frozen, StartTime=NOW + DAY - 10, EndTime=NOW + DAY + 10)  # ends outside the range
    query: dict[str, Any] = {"StartTime": NOW, "EndTime": NOW + DAY, "StreamName": "s"}
    assert describe_all(frozen, query) == (made, 3)
    answer = sdk_call(frozen, "DescribeRecordTask", query)
    assert set(answer["TaskList"][0]) == {
        "TaskId",
        "DomainName",
        "AppName",
        "StreamName",
        "StartTime",
        "EndTime",
        "TemplateId",
        "Stopped",
    }


def test_describe_rules(frozen: Emulator) -> None:
    frozen.page_size = 1
    create(frozen)
    create(frozen, StartTime=NOW + 120)
    token = sdk_call(frozen, "DescribeRecordTask", {"StartTime": NOW, "EndTime": NOW + DAY})["ScrollToken"]
    refused = [
        {"StartTime": NOW, "EndTime": NOW + DAY, "ScrollToken": "made-up"},
        {"StartTime": NOW, "EndTime": NOW + 2 * DAY, "ScrollToken": token},  # another query's token
        {"StartTime": NOW, "EndTime": NOW},
        {"StartTime": NOW, "EndTime": NOW + 7 * DAY + 1},
        {"StartTime": NOW - 91 * DAY, "EndTime": NOW - 90 * DAY},
    ]
    assert [error_code(frozen, "DescribeRecordTask", query) for query in refused] == ["InvalidParameter"] * 5
    assert error_code(frozen, "DescribeRecordTask", {"EndTime": NOW}) == "MissingParameter"
    assert error_code(frozen, "DescribeRecordTask", {"StartTime": NOW, "EndTime": NOW + 7 * DAY}) is None
    other_region = sdk_call(frozen, "DescribeRecordTask", {"StartTime": NOW, "EndTime": NOW + DAY}, region="ap-tokyo")
    assert other_region == {"TaskList": [], "ScrollToken": "", "RequestId": other_region["RequestId"]}
