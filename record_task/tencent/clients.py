"""The Tencent SDK's clients, pointed at `LIVE_ENDPOINT`: one per (thread, region), built on first use.

A client holds a `requests.Session`, which requests does not promise to be thread-safe, so a sweep's
or a batch's threads each get their own. The SDK's region breaker stays off (it would re-send to
another host, an emulator's too), and its DEBUG request dumps, which include the Authorization
header, never reach our logs.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from record_task.errors import ConfigurationError
from record_task.tencent.credentials import SdkCredential

SERVICE = "live"
API_VERSION = "2018-08-01"


class SdkClients:
    def __init__(self, endpoint: str, credential: SdkCredential, timeout_seconds: int) -> None:
        self._scheme, self._host = parse_endpoint(endpoint)
        self._credential = credential
        self._timeout = timeout_seconds
        self._local = threading.local()

    def for_region(self, region: str) -> Any:
        clients: dict[str, Any] = self._local.__dict__.setdefault("by_region", {})
        client = clients.get(region)
        if client is None:
            client = clients[region] = self._build(region)
        return client

    def _build(self, region: str) -> Any:
        from tencentcloud.common.common_client import CommonClient
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        logging.getLogger("tencentcloud_sdk_common").propagate = False
        http = HttpProfile(protocol=self._scheme, endpoint=self._host, reqTimeout=self._timeout, keepAlive=True)
        profile = ClientProfile(httpProfile=http, language="en-US", disable_region_breaker=True)
        return CommonClient(SERVICE, API_VERSION, self._credential, region, profile=profile)


def parse_endpoint(endpoint: str) -> tuple[str, str]:
    """`LIVE_ENDPOINT` as (scheme, host[:port]): a bare host means https, a URL keeps its own scheme."""
    parts = urlsplit(endpoint.strip() if "://" in endpoint else f"https://{endpoint.strip()}")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigurationError(
            f"LIVE_ENDPOINT must be a host (live.intl.tencentcloudapi.com) or http(s)://host[:port], got {endpoint!r}"
        )
    return parts.scheme, parts.netloc
