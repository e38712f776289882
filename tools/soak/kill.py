"""A Lambda timeout in the middle of a batch: the invocation runs in a child process that is SIGKILLed
(as Lambda ends a timed-out run) once some of its tasks exist, and the batch comes back after the claim
lease lapsed."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.lambda_events import FakeContext, sqs_event, sqs_record
from tools.soak.sqs import Message, QueueHandler, SqsSimulator


@dataclass(frozen=True)
class Kill:
    tasks_made: int  # the batch's tasks that existed when the invocation was killed
    while_running: bool  # the invocation had not returned: the kill landed mid-batch


def lambda_timeout(
    env: Mapping[str, str],
    emulator: Any,
    handle: QueueHandler,
    messages: list[Message],
    *,
    lease_seconds: float,
    kill_after_tasks: int = 6,
) -> tuple[Kill, SqsSimulator]:
    """Run one batch in a child process, SIGKILL it once `kill_after_tasks` of its tasks exist, then
    redeliver the whole batch after the claim lease lapsed. With the child's rate limited (e.g.
    `LIVE_API_RATE_PER_SECOND=4` in `env`) and late answers, the kill finds some bookings finished, some
    with a task the ledger does not know yet, and some not started. Returns what the kill met and the
    simulator that redelivered (its DLQ should be empty)."""
    streams = {m.stream_name for m in messages}
    records = [sqs_record(m.body, message_id=m.message_id, source=m.source) for m in messages]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle_file:
        json.dump(sqs_event(*records), handle_file)
    emulator.set_latency(0.4)  # each answer comes late, after the task exists: the kill lands mid-batch
    child = subprocess.Popen(
        [sys.executable, "-m", "tools.soak", "--invoke-queue", handle_file.name],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    made, running = 0, False
    try:
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            made = sum(1 for t in emulator.tasks if t["StreamName"] in streams)
            if made >= kill_after_tasks:
                break
            time.sleep(0.02)
        running = child.poll() is None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        emulator.set_latency(0.0)
        os.unlink(handle_file.name)
    time.sleep(lease_seconds + 1.0)  # Lambda's next delivery comes after the visibility timeout
    redelivery = SqsSimulator(handle, max_receive_count=5, visibility_seconds=lease_seconds)
    for message in messages:
        message.receive_count = 1
    redelivery.send(messages)
    redelivery.run(give_up_after=120)
    return Kill(tasks_made=made, while_running=running), redelivery


def invoke_queue(path: str) -> int:
    """The child side of `lambda_timeout`: one `handler.queue` invocation, as Lambda makes it."""
    handler = importlib.import_module("handler")
    event = json.loads(Path(path).read_text(encoding="utf-8"))
    print(json.dumps(handler.queue(event, FakeContext())))
    return 0
