"""`plan`, `sign` and `send`: offline planning with the function's settings, signatures its routes accept,
and a signed delivery to a local API Gateway stand-in serving the function."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from record_task.errors import SignatureError
from record_task.sources.registry import BY_NAME
from tests.cli.conftest import DOMAIN, HOUR, Run
from tests.conftest import Clock
from tools.local_api import local_api
from tools.sample_events import calcom, calendly

NOW = 1_796_436_000  # 2026-12-05 02:00:00Z


def payload(tmp_path: Path, body: Any, name: str = "booking.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body) if not isinstance(body, str) else body)
    return str(path)


def test_plan_prints_the_exact_calls_with_api_names(tmp_path: Path, cli: Callable[..., Run]) -> None:
    body = {"BookingId": "b-1", "StreamName": "room-42", "DomainName": DOMAIN, "StartTime": NOW + HOUR,
            "EndTime": NOW + 2 * HOUR, "TemplateId": 7}  # fmt: skip
    run = cli("plan", payload(tmp_path, body), "--now", str(NOW), "--json")
    assert run.code == 0
    assert run.json == {
        "status": "created",
        "calls": [
            {
                "action": "CreateRecordTask",
                "params": {
                    "StreamName": "room-42",
                    "DomainName": DOMAIN,
                    "AppName": "live",
                    "StartTime": NOW + HOUR,
                    "EndTime": NOW + 2 * HOUR,
                    "StreamType": 0,
                    "TemplateId": 7,
                    "Region": "ap-singapore",
                },
            }
        ],
        "error": None,
    }
    text = cli("plan", payload(tmp_path, body), "--now", str(NOW))
    assert "CreateRecordTask" in text.out and "TemplateId  7" in text.out


def test_plan_applies_the_settings_padding_routes_and_splitting(
    tmp_path: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD_LEAD_SECONDS", "300")
    monkeypatch.setenv("DEFAULT_DOMAIN_NAME", "routed.example.com")
    body = {"BookingId": "b-long", "StartTime": NOW + HOUR, "EndTime": NOW + 31 * HOUR}
    run = cli("plan", payload(tmp_path, body), "--now", str(NOW), "--json")
    calls = [call["params"] for call in run.json["calls"]]
    assert [(c["StartTime"], c["EndTime"]) for c in calls] == [
        (NOW + HOUR - 300, NOW + 25 * HOUR - 300),
        (NOW + 25 * HOUR - 300, NOW + 31 * HOUR),
    ]
    assert {(c["DomainName"], c["StreamName"]) for c in calls} == {("routed.example.com", "b-long")}


def test_a_far_booking_is_deferred_with_its_window_and_due_time(tmp_path: Path, cli: Callable[..., Run]) -> None:
    start = NOW + 20 * 24 * HOUR
    body = {"BookingId": "b-far", "StreamName": "s", "DomainName": DOMAIN, "StartTime": start, "EndTime": start + HOUR}
    run = cli("plan", payload(tmp_path, body), "--now", str(NOW), "--json")
    assert run.code == 0
    assert run.json["status"] == "deferred" and run.json["calls"] == [] and run.json["error"] is None
    assert run.json["window"] == {"startTime": start, "endTime": start + HOUR}
    assert run.json["dueAt"] == start - 514800  # the default RECORD_HORIZON_SECONDS


def test_a_cancel_names_the_booking_whose_tasks_go(tmp_path: Path, cli: Callable[..., Run]) -> None:
    run = cli("plan", payload(tmp_path, {"BookingId": "b-1", "Action": "cancel"}), "--json")
    assert run.code == 0
    assert run.json["status"] == "cancelled" and run.json["calls"] == []
    assert run.json["cancels"] == {"bookingId": "b-1", "source": "direct", "ledgerKey": "direct#b-1"}


def test_a_reschedule_cancels_the_old_booking_and_plans_the_new(
    tmp_path: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = calcom("booking_rescheduled", NOW + HOUR)
    rejected = cli("plan", payload(tmp_path, body), "--now", str(NOW), "--json")  # no domain anywhere
    assert rejected.code == 1 and rejected.json["error"]["field"] == "DomainName"
    assert rejected.json["cancels"]["bookingId"] == body["payload"]["rescheduleUid"]  # the old slot is freed anyway

    monkeypatch.setenv("DEFAULT_DOMAIN_NAME", DOMAIN)
    run = cli("plan", payload(tmp_path, body), "--now", str(NOW), "--json")
    assert run.code == 0
    assert run.json["cancels"]["bookingId"] == body["payload"]["rescheduleUid"]
    assert [c["params"]["StartTime"] for c in run.json["calls"]] == [NOW + HOUR]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"BookingId": "b", "StreamName": "s", "EndTime": "2026-12-05T11:00:00"}, "EndTime"),
        ({"BookingId": "b", "StreamName": "s", "EndTime": NOW + HOUR, "Streamname": "typo"}, "Streamname"),
        (
            {"BookingId": "b", "StreamName": "s", "EndTime": NOW + HOUR, "DomainName": DOMAIN, "Region": "mars-1"},
            "Region",
        ),
        ("{not json", "body"),
    ],
)
def test_an_invalid_payload_is_rejected_with_field_and_rule(
    tmp_path: Path, cli: Callable[..., Run], body: Any, field: str
) -> None:
    run = cli("plan", payload(tmp_path, body), "--now", str(NOW), "--json")
    assert run.code == 1
    assert run.json["status"] == "rejected" and run.json["calls"] == []
    assert run.json["error"]["field"] == field and run.json["error"]["message"]
    assert f"field {field}" in cli("plan", payload(tmp_path, body), "--now", str(NOW)).out


@pytest.mark.parametrize("argv", [["plan", "/no/such/file.json"], ["plan"], ["plan", "x", "--source", "zoom"], []])
def test_usage_errors_exit_2(cli: Callable[..., Run], argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = cli(*argv).code
    except SystemExit as exited:  # argparse's own usage errors
        code = int(exited.code or 0)
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("source", ["direct", "calcom", "calendly"])
def test_sign_prints_the_header_the_route_accepts(
    tmp_path: Path, cli: Callable[..., Run], clock: Clock, source: str
) -> None:
    body = {"direct": {"BookingId": "b", "EndTime": NOW}, "calcom": calcom("booking_created", NOW),
            "calendly": calendly("invitee_created", NOW)}[source]  # fmt: skip
    path = payload(tmp_path, json.dumps(body, indent=1))
    run = cli("sign", path, "--source", source, "--secret", "s3cret")
    assert run.code == 0 and run.out.count("\n") == 1
    name, value = run.out.strip().split(": ", 1)
    headers = {name.lower(): value}
    raw = Path(path).read_bytes()
    BY_NAME[source].verify(raw, headers, "s3cret", int(clock.now), 180)
    with pytest.raises(SignatureError):
        BY_NAME[source].verify(raw, headers, "another", int(clock.now), 180)


def test_send_signs_and_posts_to_the_function(
    tmp_path: Path, cli: Callable[..., Run], app_factory: Callable[..., Any], clock: Clock
) -> None:
    app = app_factory()
    body = {"BookingId": "sent-1", "StreamName": "room-s", "StartTime": int(clock.now) + HOUR,
            "EndTime": int(clock.now) + 2 * HOUR}  # fmt: skip
    path = payload(tmp_path, body)
    with local_api(app.webhook) as url:
        sent = cli("send", path, "--url", url, "--source", "direct", "--secret", "direct-test-secret", "--json")
        refused = cli("send", path, "--url", url, "--source", "direct", "--secret", "wrong")
    assert sent.code == 0
    assert sent.json["status"] == 201 and sent.json["url"] == f"{url}/bookings"
    assert sent.json["answer"]["status"] == "created" and sent.json["answer"]["bookingId"] == "sent-1"
    assert refused.code == 1 and refused.out.startswith("HTTP 401")


def test_send_to_nowhere_is_a_clear_error(tmp_path: Path, cli: Callable[..., Run]) -> None:
    from tools.local_aws import free_port

    url = f"http://127.0.0.1:{free_port()}"
    run = cli("send", payload(tmp_path, {"BookingId": "b"}), "--url", url, "--source", "direct", "--secret", "k")
    assert run.code == 1
    assert f"{url}/bookings could not be reached" in run.err and "--url" in run.err
    assert "Traceback" not in run.err


def test_plan_reads_stdin(cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"BookingId": "b-9", "Action": "cancel"}')))
    run = cli("plan", "-", "--json")
    assert run.code == 0 and run.json["cancels"]["bookingId"] == "b-9"
