"""AWS (moto servers) and the Tencent emulator, each in a process of its own, as they are for a deployed
function: their request handling never shares a GIL or a thread pool with the function, so what the
bench times is the function's own cost plus the latency the emulator is told to add.

DynamoDB gets a moto server of its own (`AWS_ENDPOINT_URL_DYNAMODB`), SNS and SQS share the other
(`AWS_ENDPOINT_URL`): one moto process works under one GIL, at 10-50 ms of CPU per request on this kind
of machine, which alone would cap a drain's pace; AWS has no such single core. (The ledger makes no
`TransactWriteItems`: moto 5.2's deep-copies the whole table without a lock, which made it slow and racy.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.local_aws import MotoStack, free_port

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_KEYS = {"TENCENTCLOUD_SECRET_ID": "AKIDEMULATOR", "TENCENTCLOUD_SECRET_KEY": "emulator-secret-key"}
DIRECT_SECRET = "direct-test-secret"  # tools/sample_events.DIRECT_SECRET signs the bench's webhook events
READY_SECONDS = 60.0  # generous: a loaded 2-core host can take seconds to start a server
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def _request(url: str, payload: dict[str, Any] | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


@dataclass(frozen=True)
class EmulatorControl:
    """The emulator's control endpoints (tools/emulator/__main__.py), turned over HTTP."""

    endpoint: str

    def reset(self) -> None:
        _request(f"{self.endpoint}/_emulator/reset", {})

    def set_latency(self, seconds: float) -> None:
        _request(f"{self.endpoint}/_emulator/latency", {"seconds": seconds})

    def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = _request(f"{self.endpoint}/_emulator/calls")
        return calls

    def timeline(self) -> list[dict[str, Any]]:
        """Per stream, the spans its live tasks record (tools/emulator/streams.py)."""
        streams: list[dict[str, Any]] = _request(f"{self.endpoint}/_emulator/timeline")
        return streams

    def tasks(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = _request(f"{self.endpoint}/_emulator/tasks")
        return tasks


@dataclass(frozen=True)
class Services:
    stack: MotoStack  # SNS and SQS: the results topic and its reader
    tables: MotoStack  # DynamoDB: the bookings table (same resource names)
    emulator: EmulatorControl
    pids: dict[str, int]  # the workloads read their CPU time

    def function_env(self, **extra: str) -> dict[str, str]:
        """A fresh environment for a function process: nothing inherited but PATH and locale, so a
        variable set in the caller's shell cannot change what is measured."""
        return {
            **{name: os.environ[name] for name in KEPT_ENV if name in os.environ},
            **self.stack.env(),
            "AWS_ENDPOINT_URL_DYNAMODB": self.tables.endpoint,
            **EMULATOR_KEYS,
            "LIVE_ENDPOINT": self.emulator.endpoint,
            "DEFAULT_DOMAIN_NAME": "bench.live.push.com",
            "DIRECT_WEBHOOK_SECRET": DIRECT_SECRET,
            "MAX_RECEIVE_COUNT": "5",  # serverless.yml's maxReceiveCount
            "LIVE_API_RATE_PER_SECOND": "20",
            "LIVE_RATE_SHARE": "1",
            "LIVE_RATE_INSTANCES": "1",  # one instance gets the whole API rate
            "POWERTOOLS_METRICS_DISABLED": "1",  # no metric lines in the bench's output
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def fresh(self, latency: float) -> None:
        """Empty AWS resources and an emulator with no tasks, no calls and the given latency."""
        self.stack.reset()
        self.tables.reset()
        self.emulator.reset()
        self.emulator.set_latency(latency)


@contextmanager
def _process(command: list[str], probe: str) -> Iterator[int]:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                urllib.request.urlopen(probe, timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[1:3]} did not start (exit code {process.poll()})") from None
                time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_services() -> Iterator[Services]:
    """Two moto servers and an emulator on loopback, with the stack's resources created once."""
    keys = ["--secret-id", EMULATOR_KEYS["TENCENTCLOUD_SECRET_ID"]]
    keys += ["--secret-key", EMULATOR_KEYS["TENCENTCLOUD_SECRET_KEY"]]
    with ExitStack() as started:
        pids, endpoints = {}, {}
        local_aws = [sys.executable, "-m", "tools.local_aws", "--port"]  # one server each, in its own process
        for name in ("moto sns+sqs", "moto dynamodb"):
            port = free_port()
            endpoints[name] = f"http://127.0.0.1:{port}"
            pids[name] = started.enter_context(_process([*local_aws, str(port)], f"{endpoints[name]}/moto-api/"))
        port = free_port()
        emulator = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "tools.emulator", "--port", str(port), *keys]
        pids["emulator"] = started.enter_context(_process(command, f"{emulator}/_emulator/tasks"))
        yield Services(
            stack=MotoStack(endpoint=endpoints["moto sns+sqs"]).create(),
            tables=MotoStack(endpoint=endpoints["moto dynamodb"]).create(),
            emulator=EmulatorControl(emulator),
            pids=pids,
        )
