"""Secrets are never logged: the whole demo, run with DEBUG logs everywhere, prints none of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EMULATOR_KEYS
from tools import demo, sample_events

ROOT = Path(__file__).resolve().parent.parent.parent
SECRETS = {
    "CALCOM_WEBHOOK_SECRET": sample_events.CALCOM_SECRET,
    "CALENDLY_WEBHOOK_SECRET": sample_events.CALENDLY_SECRET,
    "DIRECT_WEBHOOK_SECRET": sample_events.DIRECT_SECRET,
    "TENCENTCLOUD_SECRET_KEY": EMULATOR_KEYS["TENCENTCLOUD_SECRET_KEY"],
    "TENCENT_CALLBACK_KEY": demo.CALLBACK_KEY,
}


@pytest.fixture(scope="module")
def demo_output() -> str:
    env = {name: value for name, value in os.environ.items() if name not in ("LIVE_ENDPOINT", "TENCENTCLOUD_SECRET_ID")}
    env["DEMO_LOG_LEVEL"] = "DEBUG"
    done = subprocess.run(
        [sys.executable, "-m", "tools.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    return output


def test_the_demo_really_ran_with_debug_logs(demo_output: str) -> None:
    assert "demo: every expectation met" in demo_output
    assert demo_output.count("DEBUG:botocore") > 100  # every library logged at DEBUG, not only ours


@pytest.mark.parametrize("setting", sorted(SECRETS))
def test_no_secret_value_appears_in_any_output(demo_output: str, setting: str) -> None:
    secret = SECRETS[setting]
    assert secret not in demo_output, f"the value of {setting} appears in the demo's output"
