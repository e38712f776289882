"""What every command shares: the function's settings and clients, built on first use, the one place
where a failure of AWS or Tencent becomes a clear message (never a traceback), and the progress line.

Exit codes (docs/contract.md, "Operator surface"): 0 done, 1 an operation failed or found trouble,
2 a usage error (argparse's own, or `CliError(..., code=2)`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TextIO

from record_task.config import Settings
from record_task.errors import ConfigurationError, RecordTaskError

if TYPE_CHECKING:
    from record_task.ledger.dynamodb import DynamoLedger
    from record_task.tencent.api import RecordTaskApi

AWS_SETTINGS = "AWS credentials and region (AWS_PROFILE, AWS_REGION; AWS_ENDPOINT_URL for a local stack)"
TENCENT_SETTINGS = (
    "LIVE_ENDPOINT, TENCENT_REGION and the keys (TENCENTCLOUD_SECRET_ID/KEY or TENCENT_CREDENTIALS_SECRET)"
)


class CliError(Exception):
    """A failure the operator reads as one line on stderr; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def reaching(system: str, settings: str) -> Iterator[None]:
    """Turn every failure of `system` (AWS or Tencent) inside the block into a `CliError` naming what to check."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ConfigurationError as exc:
        raise CliError(f"configuration: {exc.message}") from None
    except RecordTaskError as exc:
        raise CliError(
            f"{system} could not be reached or refused: {exc.message} [{exc.code}]; check {settings}"
        ) from None
    except (BotoCoreError, ClientError) as exc:
        raise CliError(f"{system} could not be reached or refused: {exc}; check {settings}") from None


@dataclass
class Context:
    """The environment (the function's, or a stage's names over it) and the output streams."""

    env: Mapping[str, str]
    as_json: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    region: str | None = None
    clock: float = field(default_factory=time.time)
    hints: dict[str, str] = field(default_factory=dict)  # setting -> why --stage did not give it
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def now(self) -> int:
        return int(self.clock)

    @cached_property
    def settings(self) -> Settings:
        try:
            return Settings.from_env(self.env)
        except ConfigurationError as exc:
            raise CliError(f"configuration: {exc.message}") from None

    def setting(self, name: str, hint: str = "or give --stage STAGE") -> str:
        value = self.env.get(name, "").strip()
        if not value:
            default = f"export it, {hint}"
            raise CliError(f"{name} is not set: " + self.hints.get(name, default))
        return value

    def client(self, service: str) -> Any:
        """A boto3 client (one per service) that gives up quickly: an operator waits for an answer, not backoff."""
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"})
            region = self.region or os.environ.get("AWS_REGION")  # botocore reads only AWS_DEFAULT_REGION
            make: Any = boto3.session.Session(region_name=region).client
            self._clients[service] = make(service, config=config)
        return self._clients[service]

    @cached_property
    def ledger(self) -> DynamoLedger:
        from record_task.ledger.dynamodb import DynamoLedger

        return DynamoLedger(self.setting("BOOKINGS_TABLE"), self.client("dynamodb"))

    @cached_property
    def api(self) -> RecordTaskApi:
        from record_task.tencent.api import RecordTaskApi

        with reaching("Tencent", TENCENT_SETTINGS):
            return RecordTaskApi.from_settings(self.settings)

    def emit(self, data: Any, text: str) -> None:
        """`data` as one JSON document with --json, else the human text."""
        print(json.dumps(data, indent=2, sort_keys=False) if self.as_json else text.rstrip("\n"), file=self.out)

    def progress(self, label: str) -> Progress:
        return Progress(label, self.err)


class Progress:
    """A one-line counter on stderr, drawn only when stderr is a terminal (never in pipes or logs)."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self._label = label
        self._stream = stream
        self._shown = bool(getattr(stream, "isatty", lambda: False)())
        self.count = 0

    def step(self, detail: str = "", by: int = 1) -> None:
        self.count += by
        if self._shown:
            self._stream.write(f"\r{self._label}: {self.count} {detail}".ljust(72)[:100])
            self._stream.flush()

    def done(self) -> None:
        if self._shown:
            self._stream.write("\r" + " " * 72 + "\r")
            self._stream.flush()


def when(epoch: int) -> str:
    """UNIX seconds as UTC for people: `2026-12-04 15:00:00Z`."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    name: str,
    run: Any,
    help_text: str,
    description: str,
) -> argparse.ArgumentParser:
    """One subcommand with the common options (`--json`, `--stage`, ...), run by `run(args)`."""
    parser = commands.add_parser(name, parents=[common], help=help_text, description=description)
    parser.set_defaults(run=run)
    return parser
