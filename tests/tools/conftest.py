"""Fixtures and helpers for the tests of the developer tools themselves (the emulator, the local AWS
stand-in, the soak's machinery): the emulator on a frozen clock, and, imported by name, a call through the
unmodified SDK and the emulator's control surface over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import EMULATOR_KEYS
from tools.emulator import Emulator

KEYS = (EMULATOR_KEYS["TENCENTCLOUD_SECRET_ID"], EMULATOR_KEYS["TENCENTCLOUD_SECRET_KEY"])
REGION = "ap-singapore"
NOW = 1_800_000_000  # the emulator's clock in these tests: every rule is checked against it


@pytest.fixture
def frozen(live_emulator: Emulator) -> Emulator:
    """The emulator with its rules' clock at NOW."""
    live_emulator.set_clock(NOW)
    return live_emulator


def sdk_call(
    emulator: Emulator | str,
    action: str,
    params: dict[str, Any],
    *,
    region: str = REGION,
    keys: tuple[str, str] = KEYS,
    version: str = "2018-08-01",
) -> dict[str, Any]:
    """One call through the unmodified SDK (signed by it, no retries) to an emulator or an endpoint: the
    Response, or the SDK's error."""
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    endpoint = emulator if isinstance(emulator, str) else emulator.endpoint
    scheme, host = endpoint.split("://")
    profile = ClientProfile(httpProfile=HttpProfile(protocol=scheme, endpoint=host, reqTimeout=5))
    client = CommonClient("live", version, credential.Credential(*keys), region, profile=profile)
    answer: dict[str, Any] = client.call_json(action, params)["Response"]
    return answer


def error_code(emulator: Emulator, action: str, params: dict[str, Any], **options: Any) -> str | None:
    """The error code the emulator answers (None for success)."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    try:
        sdk_call(emulator, action, params, **options)
    except TencentCloudSDKException as exc:
        return str(exc.get_code())
    return None


def control(emulator: Emulator | str, path: str, payload: Any = None) -> tuple[int, Any]:
    """GET (no payload) or POST `/_emulator/<path>` of an emulator or an endpoint: the status and the JSON
    answered."""
    endpoint = emulator if isinstance(emulator, str) else emulator.endpoint
    data = None if payload is None else json.dumps(payload).encode()
    http = urllib.request.Request(f"{endpoint}/_emulator/{path}", data=data, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(http, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def describe_all(emulator: Emulator, query: dict[str, Any]) -> tuple[list[str], int]:
    """Every TaskId a query lists, following ScrollToken; and how many pages that took."""
    seen: list[str] = []
    pages = 0
    while True:
        answer = sdk_call(emulator, "DescribeRecordTask", query)
        pages += 1
        seen += [task["TaskId"] for task in answer["TaskList"]]
        if not answer["ScrollToken"]:
            return seen, pages
        query = {**query, "ScrollToken": answer["ScrollToken"]}
