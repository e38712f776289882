"""The function as a soak runs it: its environment (short timeouts and lease, so retries happen fast),
the handler module loaded as Lambda loads it, and delivery in rounds on fresh AWS resources."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from tools.soak.sqs import Message, QueueHandler, SqsSimulator

EMULATOR_KEYS = {"TENCENTCLOUD_SECRET_ID": "AKIDEMULATOR", "TENCENTCLOUD_SECRET_KEY": "emulator-secret-key"}
# As deployed, a message comes back only after its claim lease lapsed (visibility timeout, 6 x the function
# timeout = 174 s, exceeds CLAIM_LEASE_SECONDS = 120 s, which exceeds one delivery): the soak keeps that
# order at a smaller scale, visibility = lease + 1 s.
LEASE_SECONDS = 8


def soak_env(
    stack_env: Mapping[str, str],
    live_endpoint: str,
    *,
    max_receive_count: int = 5,
    lease_seconds: int = LEASE_SECONDS,
) -> dict[str, str]:
    """The function's environment for a soak: short timeouts and lease, so retries happen fast."""
    return {
        **stack_env,
        **EMULATOR_KEYS,
        "LIVE_ENDPOINT": live_endpoint,
        "DEFAULT_DOMAIN_NAME": "5000.live.push.com",
        "MAX_RECEIVE_COUNT": str(max_receive_count),
        "LIVE_TIMEOUT_SECONDS": "1",
        "LIVE_RETRY_BUDGET_SECONDS": str(min(3.0, lease_seconds - 1.5)),  # the lease outlasts a create call
        "CLAIM_LEASE_SECONDS": str(lease_seconds),
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("SOAK_LOG_LEVEL", "ERROR"),
    }


def load_handler() -> ModuleType:
    """Import `handler` (again): it builds its clients and settings at import, as in Lambda."""
    if "handler" in sys.modules:
        return importlib.reload(sys.modules["handler"])
    return importlib.import_module("handler")


class ServerErrors(logging.Filter):
    """Counts, and keeps off the console, the tracebacks the moto server logs for a request it failed
    (the function sees a 500 that botocore retries); with one request at a time there should be none."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "Error on request" in record.getMessage():
            self.count += 1
            return False
        return True


def soak_in_rounds(
    handle: QueueHandler, stack: Any, messages: list[Message], *, visibility_seconds: float, round_size: int = 250
) -> tuple[SqsSimulator, list[dict[str, Any]]]:
    """Deliver `messages` a round at a time, each round on fresh AWS resources; returns the totals and
    every result published.

    Rounds keep moto fast: its `TransactWriteItems` deep-copies every table per transaction, so one table
    of thousands of items makes each transaction seconds long (measured: 1,000 bookings at once had not
    finished after 9 minutes, at 6 GB). Bookings do not interact, so the verdict is the same.
    """
    total = SqsSimulator(handle, max_receive_count=5)
    results: list[dict[str, Any]] = []
    for first in range(0, len(messages), round_size):
        sqs = SqsSimulator(handle, max_receive_count=5, visibility_seconds=visibility_seconds)
        sqs.send(messages[first : first + round_size])
        sqs.run()
        results += stack.results()
        stack.reset()
        total.batches += sqs.batches
        total.deliveries += sqs.deliveries
        total.redeliveries += sqs.redeliveries
        total.dead_letters += sqs.dead_letters
        print(f"  round {first // round_size + 1}: {len(results)} results so far", file=sys.stderr, flush=True)
    return total, results
