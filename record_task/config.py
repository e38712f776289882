"""Settings read once from the environment (docs/contract.md, "Configuration").

Every malformed value raises `ConfigurationError` at start, so a bad deployment fails its first
invocation loudly instead of rejecting bookings one by one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from record_task.errors import ConfigurationError
from record_task.model.booking import StreamFields
from record_task.model.stream_names import check_template
from record_task.sources.registry import SOURCES

SIX_DAYS = 6 * 24 * 3600
DEFAULT_HORIZON = SIX_DAYS - 3600
DEFAULT_MAX_AHEAD = 365 * 24 * 3600
DEFAULT_ENDPOINT = "live.intl.tencentcloudapi.com"


@dataclass(frozen=True)
class StreamDefaults:
    """What routing needs from the settings: `ROUTES`, the name template and the default values."""

    routes: Mapping[str, StreamFields] = field(default_factory=dict)
    name_template: str = "{booking_id}"
    domain_name: str | None = None
    app_name: str = "live"
    template_id: int | None = None
    region: str = "ap-singapore"


@dataclass(frozen=True)
class Settings:
    results_topic_arn: str = ""
    bookings_table: str = ""
    tencent_region: str = "ap-singapore"
    live_endpoint: str = DEFAULT_ENDPOINT
    secret_id: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    credentials_secret: str | None = None
    default_domain_name: str | None = None
    default_app_name: str = "live"
    default_template_id: int | None = None
    lead_seconds: int = 0
    tail_seconds: int = 0
    horizon_seconds: int = DEFAULT_HORIZON
    max_ahead_seconds: int = DEFAULT_MAX_AHEAD
    routes: Mapping[str, StreamFields] = field(default_factory=dict)
    stream_name_template: str = "{booking_id}"
    webhook_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # source name -> its secret
    tencent_callback_key: str | None = field(default=None, repr=False)
    signature_tolerance_seconds: int = 180
    max_receive_count: int = 5
    live_retry_budget_seconds: float = 8.0
    live_rate_per_second: float = 20.0  # this instance's share of the API's limit (see `from_env`)
    live_timeout_seconds: int = 5
    claim_lease_seconds: int = 120
    sweep_batch_limit: int = 1000
    bookings_queue_url: str | None = None  # the queue handler.queue consumes: the webhook queues onto it
    webhook_live_budget_seconds: float = 10.0  # all a webhook may spend on the Live API before it queues

    def __post_init__(self) -> None:
        check_template(self.stream_name_template, "STREAM_NAME_TEMPLATE")
        for event_type, route in self.routes.items():
            if route.stream_name:
                check_template(route.stream_name, f"ROUTES[{event_type!r}].StreamName")
        if self.horizon_seconds > SIX_DAYS:
            raise ConfigurationError("RECORD_HORIZON_SECONDS must not exceed 518400 (the API's 6 days)")
        if self.max_ahead_seconds < self.horizon_seconds:
            raise ConfigurationError("MAX_AHEAD_SECONDS must not be below RECORD_HORIZON_SECONDS")
        longest_create = self.live_retry_budget_seconds + self.live_timeout_seconds
        if self.claim_lease_seconds <= longest_create:  # else a slow create outlives its claim: made twice
            raise ConfigurationError(
                f"CLAIM_LEASE_SECONDS ({self.claim_lease_seconds}) must exceed LIVE_RETRY_BUDGET_SECONDS + "
                f"LIVE_TIMEOUT_SECONDS ({longest_create:g}), the longest one CreateRecordTask call can take"
            )

    @property
    def stream_defaults(self) -> StreamDefaults:
        defaults = (self.default_domain_name, self.default_app_name, self.default_template_id, self.tencent_region)
        return StreamDefaults(self.routes, self.stream_name_template, *defaults)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        read = _Reader(env)
        return cls(
            results_topic_arn=read.text("RESULTS_TOPIC_ARN", ""),
            bookings_table=read.text("BOOKINGS_TABLE", ""),
            tencent_region=read.text("TENCENT_REGION", "ap-singapore"),
            live_endpoint=read.text("LIVE_ENDPOINT", DEFAULT_ENDPOINT),
            secret_id=read.optional("TENCENTCLOUD_SECRET_ID"),
            secret_key=read.optional("TENCENTCLOUD_SECRET_KEY"),
            credentials_secret=read.optional("TENCENT_CREDENTIALS_SECRET"),
            default_domain_name=read.optional("DEFAULT_DOMAIN_NAME"),
            default_app_name=read.text("DEFAULT_APP_NAME", "live"),
            default_template_id=read.optional_int("DEFAULT_TEMPLATE_ID"),
            lead_seconds=read.number("RECORD_LEAD_SECONDS", 0),
            tail_seconds=read.number("RECORD_TAIL_SECONDS", 0),
            horizon_seconds=read.number("RECORD_HORIZON_SECONDS", DEFAULT_HORIZON),
            max_ahead_seconds=read.number("MAX_AHEAD_SECONDS", DEFAULT_MAX_AHEAD),
            routes=load_routes(env.get("ROUTES")),
            stream_name_template=read.text("STREAM_NAME_TEMPLATE", "{booking_id}"),
            webhook_secrets={
                source.name: secret for source in SOURCES if (secret := read.optional(source.secret_setting))
            },
            tencent_callback_key=read.optional("TENCENT_CALLBACK_KEY"),
            signature_tolerance_seconds=read.number("SIGNATURE_TOLERANCE_SECONDS", 180),
            max_receive_count=read.number("MAX_RECEIVE_COUNT", 5, minimum=1),
            live_retry_budget_seconds=read.decimal("LIVE_RETRY_BUDGET_SECONDS", 8.0),
            live_rate_per_second=_instance_rate(read),
            live_timeout_seconds=read.number("LIVE_TIMEOUT_SECONDS", 5, minimum=1),
            claim_lease_seconds=read.number("CLAIM_LEASE_SECONDS", 120, minimum=1),
            sweep_batch_limit=read.number("SWEEP_BATCH_LIMIT", 1000, minimum=1),
            bookings_queue_url=read.optional("BOOKINGS_QUEUE_URL"),
            webhook_live_budget_seconds=read.decimal("WEBHOOK_LIVE_BUDGET_SECONDS", 10.0),
        )


def _instance_rate(read: _Reader) -> float:
    """This instance's share of the account's API rate: the fleet's functions divide one setting,
    `LIVE_API_RATE_PER_SECOND`, by their `LIVE_RATE_SHARE` and concurrency bound (docs/deploying.md)."""
    share = read.decimal("LIVE_RATE_SHARE", 1.0)
    if share > 1:
        raise ConfigurationError(f"LIVE_RATE_SHARE must be at most 1, got {share}")
    instances = read.number("LIVE_RATE_INSTANCES", 1, minimum=1)
    return read.decimal("LIVE_API_RATE_PER_SECOND", 20.0) * share / instances


_ROUTE_KEYS = {
    "StreamName": "stream_name",
    "DomainName": "domain_name",
    "AppName": "app_name",
    "StreamType": "stream_type",
    "TemplateId": "template_id",
    "Extension": "extension",
    "Region": "region",
}


def load_routes(raw: str | None) -> dict[str, StreamFields]:
    """`ROUTES` as JSON, or `@file` naming a JSON file (a relative path is read from the project root,
    where the deployment package unpacks); unset, no routes."""
    if raw is None or not raw.strip():
        return {}
    raw = raw.strip()
    if raw.startswith("@"):
        path = Path(raw[1:])
        if not path.is_absolute():
            path = Path(__file__).parent.parent / path
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"ROUTES file {path} cannot be read: {exc.strerror}") from None
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"ROUTES is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise ConfigurationError("ROUTES must be a JSON object: event type -> stream settings")
    routes: dict[str, StreamFields] = {}
    for event_type, settings in data.items():
        if not isinstance(settings, dict):
            raise ConfigurationError(f"ROUTES[{event_type!r}] must be an object")
        unknown = set(settings) - set(_ROUTE_KEYS)
        if unknown:
            raise ConfigurationError(
                f"ROUTES[{event_type!r}] has unknown keys {sorted(unknown)}; allowed: {sorted(_ROUTE_KEYS)}"
            )
        for key in ("StreamType", "TemplateId"):
            if key in settings and (not isinstance(settings[key], int) or isinstance(settings[key], bool)):
                raise ConfigurationError(f"ROUTES[{event_type!r}].{key} must be an integer")
        routes[str(event_type)] = StreamFields(**{_ROUTE_KEYS[k]: v for k, v in settings.items()})
    return routes


class _Reader:
    """Typed access to environment strings with the variable named in every error."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def optional(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def optional_int(self, name: str) -> int | None:
        value = self.optional(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None

    def number(self, name: str, default: int, *, minimum: int = 0) -> int:
        value = self.optional_int(name)
        if value is None:
            return default
        if value < minimum:
            raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
        return value

    def decimal(self, name: str, default: float) -> float:
        value = self.optional(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
        if number <= 0:
            raise ConfigurationError(f"{name} must be positive, got {value}")
        return number
