"""`republish`, `--stage` (names from a CloudFormation stack on moto), and what an operator sees when AWS or
Tencent cannot be reached: one line naming the system and the settings to check, exit 1, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import HOUR, Run
from tests.conftest import Clock
from tools.local_aws import MotoStack, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.usefixtures("operator_env")
def test_republish_sends_the_stored_results_again(
    cli: Callable[..., Run], book: Callable[..., Any], clock: Clock, stack: MotoStack
) -> None:
    t = int(clock.now)
    created = book("rp-1", t + HOUR, t + 2 * HOUR)
    first = stack.results()
    assert [r["status"] for r in first] == ["created"]

    run = cli("republish", "rp-1", "--json")
    assert run.code == 0 and run.json["published"] == [{"slot": "create", "status": "created"}]
    again = stack.results()
    assert [(r["status"], r["bookingId"], r["tasks"][0]["taskId"]) for r in again] == [
        ("created", "rp-1", created.tasks[0].task_id)
    ]
    assert again[0]["_attributes"] == {"status": "created", "source": "direct"}
    assert cli("republish", "nobody").code == 1


def _stack(stack: MotoStack, name: str) -> None:
    outputs = {"ResultsTopicArn": stack.topic_arn, "RecordQueueUrl": stack.queue_url,
               "DeadLetterQueueUrl": stack.dlq_url}  # fmt: skip
    template = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {key: {"Value": value} for key, value in outputs.items()}}  # fmt: skip
    stack.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.mark.usefixtures("operator_env")
def test_stage_reads_the_names_from_the_stack(
    cli: Callable[..., Run], book: Callable[..., Any], clock: Clock, stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    book("sg-1", int(clock.now) + HOUR, int(clock.now) + 2 * HOUR)
    stack.results()
    for name in ("BOOKINGS_TABLE", "RESULTS_TOPIC_ARN", "BOOKINGS_QUEUE_URL", "DEAD_LETTER_QUEUE_URL"):
        monkeypatch.delenv(name)
    assert "BOOKINGS_TABLE is not set" in cli("status", "sg-1").err
    _stack(stack, "record-task-local")  # the local stack's table is record-task-local-bookings

    assert cli("status", "sg-1", "--stage", "local").code == 0
    assert cli("republish", "sg-1", "--stage", "local").code == 0
    assert [r["bookingId"] for r in stack.results()] == ["sg-1"]
    missing = cli("status", "sg-1", "--stage", "nowhere")
    assert missing.code == 1 and "stack record-task-nowhere does not exist" in missing.err


def _run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI as the operator runs it: its own process, so a traceback would show."""
    return subprocess.run(
        [sys.executable, "-m", "record_task", *argv], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def assert_one_clear_line(done: subprocess.CompletedProcess[str], says: str, setting: str) -> None:
    """Exit 1 and one line on stderr naming what could not be reached and the setting to check."""
    assert done.returncode == 1, done.stderr
    assert says in done.stderr and setting in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_unreachable_aws_is_one_clear_line(stack: MotoStack) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    for argv in (["status", "b-1"], ["upcoming"], ["republish", "b-1"]):
        done = _run(*argv, AWS_ENDPOINT_URL=closed, RESULTS_TOPIC_ARN="arn:aws:sns:us-east-1:1:t")
        assert_one_clear_line(done, "AWS could not be reached", "AWS_ENDPOINT_URL")


@pytest.mark.usefixtures("operator_env")
def test_unreachable_tencent_is_one_clear_line(book: Callable[..., Any], clock: Clock) -> None:
    book("tc-1", int(clock.now) + HOUR, int(clock.now) + 2 * HOUR)
    closed = f"http://127.0.0.1:{free_port()}"
    for argv in (["status", "tc-1"], ["upcoming"], ["reconcile"]):
        done = _run(*argv, LIVE_ENDPOINT=closed, LIVE_RETRY_BUDGET_SECONDS="0.5")
        assert_one_clear_line(done, "Tencent could not be reached", "LIVE_ENDPOINT")


@pytest.mark.usefixtures("operator_env")
def test_tencent_refusing_the_keys_names_them(book: Callable[..., Any], clock: Clock) -> None:
    book("tc-2", int(clock.now) + HOUR, int(clock.now) + 2 * HOUR)
    done = _run("status", "tc-2", TENCENTCLOUD_SECRET_KEY="wrong")
    assert done.returncode == 1
    assert "AuthFailure" in done.stderr and "TENCENTCLOUD_SECRET_ID" in done.stderr and "Traceback" not in done.stderr


def test_every_command_has_help() -> None:
    from record_task.cli.main import main

    for command in ("plan", "sign", "send", "status", "upcoming", "reconcile", "redrive", "republish"):
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
    assert "Scan" in _run("upcoming", "--help").stdout  # its cost is stated
