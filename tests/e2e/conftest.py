"""The handler module, loaded as Lambda loads it, against the local stack and the emulator."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import EMULATOR_KEYS
from tools.local_aws import MotoStack

WEBHOOK_SECRETS = {
    "CALCOM_WEBHOOK_SECRET": "calcom-test-secret",
    "CALENDLY_WEBHOOK_SECRET": "calendly-test-secret",
    "DIRECT_WEBHOOK_SECRET": "direct-test-secret",
    "TENCENT_CALLBACK_KEY": "tencent-test-key",
}


@pytest.fixture
def load_handler(stack: MotoStack, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., ModuleType]:
    """Import (again) `handler` with this environment: it builds everything at import, as in Lambda."""

    def load(**env: str) -> ModuleType:
        values = {
            **EMULATOR_KEYS, **WEBHOOK_SECRETS, "LIVE_ENDPOINT": emulator.endpoint,
            "DEFAULT_DOMAIN_NAME": "5000.live.push.com", "LIVE_RETRY_BUDGET_SECONDS": "1", **env,
        }  # fmt: skip
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        import handler

        return importlib.reload(handler)

    return load


@pytest.fixture
def handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler()
