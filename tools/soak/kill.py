"""A Lambda timeout in the middle of a batch: the invocation runs in a child process that is SIGKILLed
(as Lambda ends a timed-out run) once some of its tasks exist and while the emulator holds their answers,
and the batch comes back after the claim leases lapsed."""

from __future__ import annotations

import importlib
import json
import math
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

CHILD_TIMEOUT_SECONDS = 5  # how long the killed invocation waits for a held answer: the kill comes first


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
    settle_seconds: float = 1.0,
    child_timeout_seconds: int = CHILD_TIMEOUT_SECONDS,
) -> tuple[Kill, SqsSimulator]:
    """Run one batch in a child process whose Live API calls are carried out but not answered, SIGKILL it
    once `kill_after_tasks` of its tasks exist (or their number stopped growing for `settle_seconds`),
    then redeliver the whole batch after the claim leases lapsed. The held answers and the child's read
    timeout of `child_timeout_seconds` (its lease made long enough for it) keep the child mid-batch that
    long whatever the host's speed; with its rate limited (e.g. `LIVE_API_RATE_PER_SECOND=4` in `env`)
    the kill finds some bookings with a task the ledger does not know yet and some not started. Returns
    what the kill met and the simulator that redelivered (its DLQ should be empty)."""
    streams = {m.stream_name for m in messages}
    records = [sqs_record(m.body, message_id=m.message_id, source=m.source) for m in messages]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle_file:
        json.dump(sqs_event(*records), handle_file)
    budget = float(env.get("LIVE_RETRY_BUDGET_SECONDS", 0))
    child_lease = math.ceil(child_timeout_seconds + budget) + 1  # the function's rule: a lease outlasts a create
    timeouts = {"LIVE_TIMEOUT_SECONDS": str(child_timeout_seconds), "CLAIM_LEASE_SECONDS": str(child_lease)}
    emulator.hold_answers()
    child = subprocess.Popen(
        [sys.executable, "-m", "tools.soak", "--invoke-queue", handle_file.name],
        env={**os.environ, **env, **timeouts},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    made, running = 0, False
    try:
        made = _wait_for_tasks(emulator, streams, child, kill_after_tasks, settle_seconds)
        running = child.poll() is None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        emulator.release_answers()
        os.unlink(handle_file.name)
    time.sleep(max(lease_seconds, child_lease) + 1.0)  # the next delivery comes after the visibility timeout
    redelivery = SqsSimulator(handle, max_receive_count=5, visibility_seconds=lease_seconds)
    for message in messages:
        message.receive_count = 1
    redelivery.send(messages)
    redelivery.run(give_up_after=120)
    return Kill(tasks_made=made, while_running=running), redelivery


def _wait_for_tasks(
    emulator: Any, streams: set[str], child: subprocess.Popen[bytes], enough: int, settle_seconds: float
) -> int:
    """The batch's task count once it reached `enough`, or once it was above zero and stopped growing
    (the child's rate share is spent), or after a minute."""
    deadline = time.monotonic() + 60
    made, changed = 0, time.monotonic()
    while child.poll() is None and time.monotonic() < deadline:
        now_made = sum(1 for t in emulator.tasks if t["StreamName"] in streams)
        if now_made != made:
            made, changed = now_made, time.monotonic()
        if made >= enough or (made > 0 and time.monotonic() - changed >= settle_seconds):
            break
        time.sleep(0.02)
    return made


def invoke_queue(path: str) -> int:
    """The child side of `lambda_timeout`: one `handler.queue` invocation, as Lambda makes it."""
    handler = importlib.import_module("handler")
    event = json.loads(Path(path).read_text(encoding="utf-8"))
    print(json.dumps(handler.queue(event, FakeContext())))
    return 0
