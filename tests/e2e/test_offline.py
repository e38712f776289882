"""The webhook served the Serverless way: `osls offline` (serverless-offline 13.x) on the `local` stage, in
front of the local stack (moto server and the Tencent emulator), answering a signed booking over HTTP.

Slow-ish (a Node process and a Python worker start, ~2 s) and it needs node_modules, so it is marked like
the packaging test. docs/local-development.md shows the same by hand, with `make stack`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from record_task.sources.signatures import sign_direct
from tests.schemas import problems_with
from tools.emulator import start_emulator
from tools.local_aws import MotoStack, free_port

ROOT = Path(__file__).resolve().parents[2]
OSLS = ROOT / "node_modules" / ".bin" / "osls"
PLUGIN = ROOT / "node_modules" / "serverless-offline" / "package.json"
SECRET = "direct-test-secret"  # the local stage's DIRECT_WEBHOOK_SECRET (serverless.yml)
START_TIMEOUT = 90.0  # generous: a loaded machine; it is ~1.5 s here

pytestmark = pytest.mark.package


def _need_offline() -> None:
    if not (OSLS.exists() and PLUGIN.exists()):
        if os.environ.get("CI"):
            pytest.fail("node_modules lacks osls or serverless-offline: `npm ci` did not run")
        pytest.skip("node_modules lacks osls or serverless-offline: run `make setup`")


@pytest.fixture(scope="module")
def live_emulator() -> Iterator[Any]:
    """An emulator on the real clock: the function runs in another process, on the real clock too."""
    with start_emulator() as running:
        yield running


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"osls offline exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"osls offline did not listen on {port} within {START_TIMEOUT} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def offline(moto_endpoint: str, live_emulator: Any) -> Iterator[str]:
    """`osls offline --stage local` pointed at this session's moto server and emulator; yields its base URL."""
    _need_offline()
    http_port, lambda_port = free_port(), free_port()
    venv = Path(sys.prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # the stage's environment only
    env |= {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}
    command = [
        str(OSLS), "offline", "--stage", "local", "--host", "127.0.0.1",
        "--httpPort", str(http_port), "--lambdaPort", str(lambda_port),
        f"--param=localAwsEndpoint={moto_endpoint}", f"--param=localLiveEndpoint={live_emulator.endpoint}",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "offline.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            _wait_for_port(http_port, process, log)
            yield f"http://127.0.0.1:{http_port}"
        finally:
            os.killpg(process.pid, signal.SIGTERM)  # its own group: node and the Python worker it spawned
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _post(url: str, body: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_signed_direct_booking_is_created_through_osls_offline(
    offline: str, stack: MotoStack, live_emulator: Any
) -> None:
    now = int(time.time())
    booking = {"BookingId": f"offline-{now}", "StreamName": f"room-offline-{now}", "StartTime": now + 3600,
               "EndTime": now + 7200}  # fmt: skip
    text = json.dumps(booking)
    headers = {"Content-Type": "application/json", "X-Signature-256": sign_direct(text, SECRET)}
    status, answer = _post(f"{offline}/bookings", text, headers)
    assert (status, answer["status"], answer["bookingId"]) == (201, "created", booking["BookingId"]), answer
    assert not problems_with(answer, "webhook-answer.schema.json", "/$defs/outcome")
    (task,) = answer["tasks"]
    assert task["taskId"] in {t["TaskId"] for t in live_emulator.tasks}
    assert [(r["status"], r["bookingId"]) for r in stack.results()] == [("created", booking["BookingId"])]


def test_an_unsigned_booking_is_refused_by_the_function_behind_osls_offline(offline: str, stack: MotoStack) -> None:
    status, answer = _post(f"{offline}/bookings", json.dumps({"BookingId": "b"}), {"Content-Type": "application/json"})
    assert status == 401 and answer["error"]["code"], answer
    assert not problems_with(answer, "webhook-answer.schema.json", "/$defs/error")
    assert stack.results() == []
