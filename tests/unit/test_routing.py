"""Stream routing and the settings that feed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from record_task.bookings.routing import resolve_stream
from record_task.config import Settings, load_routes
from record_task.errors import ConfigurationError
from record_task.model.booking import Booking, StreamFields
from record_task.model.stream_names import sanitize_stream_name

NOW = 1_764_000_000
ROUTES = {"yoga": StreamFields(stream_name="yoga-{start:%Y%m%d%H%M}", domain_name="yoga.push", app_name="studio")}


def booking(**values: object) -> Booking:
    return Booking(
        **{
            "booking_id": "b-1",
            "source": "calcom",
            "start_time": 1796090400,  # type: ignore[arg-type]
            "end_time": 1796094000,
            **values,
        }
    )


def test_booking_values_win_then_route_then_defaults() -> None:
    settings = Settings(routes=ROUTES, default_domain_name="default.push", default_template_id=9)
    explicit = resolve_stream(
        booking(event_type="yoga", stream=StreamFields(stream_name="mine")), settings.stream_defaults, NOW
    )
    assert (explicit.stream_name, explicit.domain_name, explicit.app_name, explicit.template_id) == (
        "mine",
        "yoga.push",
        "studio",
        9,
    )
    routed = resolve_stream(booking(event_type="yoga"), settings.stream_defaults, NOW)
    assert routed.stream_name == "yoga-202612010200"
    fallback = resolve_stream(booking(event_type="pilates"), settings.stream_defaults, NOW)
    assert (fallback.stream_name, fallback.domain_name, fallback.app_name) == ("b-1", "default.push", "live")


def test_template_fields_and_sanitising() -> None:
    settings = Settings(stream_name_template="{source}/{event_type}/{booking_id}")
    name = resolve_stream(
        booking(booking_id="Ab 12:34", event_type="1:1 call"), settings.stream_defaults, NOW
    ).stream_name
    assert name == "calcom-1-1-call-Ab-12-34"
    assert sanitize_stream_name("--a..b--") == "a-b"


@pytest.mark.parametrize("template", ["{room}", "{start:%Q", "{booking_id!z}"])
def test_bad_template_is_a_configuration_error(template: str) -> None:
    with pytest.raises(ConfigurationError, match="STREAM_NAME_TEMPLATE"):
        Settings(stream_name_template=template)


def test_routes_from_env_json_and_file(tmp_path: Path) -> None:
    raw = json.dumps({"yoga": {"StreamName": "y-{booking_id}", "TemplateId": 2, "Region": "ap-tokyo"}})
    assert load_routes(raw)["yoga"] == StreamFields(stream_name="y-{booking_id}", template_id=2, region="ap-tokyo")
    path = tmp_path / "routes.json"
    path.write_text(raw)
    assert load_routes(f"@{path}") == load_routes(raw)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("[1]", "JSON object"),
        ("{bad", "not valid JSON"),
        ('{"yoga": {"Stream": "x"}}', "unknown keys"),
        ('{"yoga": {"TemplateId": "2"}}', "integer"),
        ('{"yoga": {"StreamName": "{nope}"}}', "unknown field"),
        ("@/nonexistent/routes.json", "cannot be read"),
    ],
)
def test_bad_routes_are_configuration_errors(raw: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        Settings.from_env({"ROUTES": raw})


@pytest.mark.parametrize(("lease", "allowed"), [("13", False), ("14", True), ("120", True)])
def test_a_claim_lease_must_outlast_one_create_call(lease: str, allowed: bool) -> None:
    env = {"CLAIM_LEASE_SECONDS": lease, "LIVE_RETRY_BUDGET_SECONDS": "8", "LIVE_TIMEOUT_SECONDS": "5"}
    if allowed:
        assert Settings.from_env(env).claim_lease_seconds == int(lease)
    else:
        with pytest.raises(ConfigurationError, match=r"CLAIM_LEASE_SECONDS \(13\) must exceed .* \(13\)"):
            Settings.from_env(env)


def test_settings_from_env_reads_every_name() -> None:
    settings = Settings.from_env(
        {
            "RESULTS_TOPIC_ARN": "arn:t",
            "BOOKINGS_TABLE": "b",
            "TENCENT_REGION": "ap-tokyo",
            "LIVE_ENDPOINT": "http://127.0.0.1:9000",
            "TENCENTCLOUD_SECRET_ID": "id",
            "TENCENTCLOUD_SECRET_KEY": "key",
            "DEFAULT_DOMAIN_NAME": "d",
            "DEFAULT_APP_NAME": "a",
            "DEFAULT_TEMPLATE_ID": "4",
            "RECORD_LEAD_SECONDS": "60",
            "RECORD_TAIL_SECONDS": "120",
            "RECORD_HORIZON_SECONDS": "86400",
            "MAX_AHEAD_SECONDS": "864000",
            "STREAM_NAME_TEMPLATE": "{event_type}-{booking_id}",
            "CALCOM_WEBHOOK_SECRET": "c",
            "CALENDLY_WEBHOOK_SECRET": "y",
            "DIRECT_WEBHOOK_SECRET": "d",
            "SIGNATURE_TOLERANCE_SECONDS": "60",
        }
    )
    assert (
        settings.tencent_region,
        settings.default_template_id,
        settings.lead_seconds,
        settings.tail_seconds,
        settings.horizon_seconds,
        settings.max_ahead_seconds,
        settings.signature_tolerance_seconds,
    ) == ("ap-tokyo", 4, 60, 120, 86400, 864000, 60)
    assert "key" not in repr(settings) and "'c'" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"RECORD_LEAD_SECONDS": "soon"}, "RECORD_LEAD_SECONDS must be an integer"),
        ({"RECORD_TAIL_SECONDS": "-1"}, "at least 0"),
        ({"RECORD_HORIZON_SECONDS": "600000"}, "must not exceed"),
        ({"MAX_AHEAD_SECONDS": "60"}, "must not be below"),
    ],
)
def test_bad_numbers_name_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        Settings.from_env(env)
