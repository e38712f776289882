"""examples/results-subscriber against the moto server: the filter policy lets through only the statuses
asked for, the consumer validates each result against docs/schemas/result.schema.json, and the
CloudFormation version of the subscription passes cfn-lint."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from record_task.errors import ErrorInfo
from record_task.ledger.publisher import SnsPublisher
from record_task.model.results import Result, Status, TaskRecord, iso
from tools.local_aws import MotoStack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "results-subscriber"
WANTED = ["created", "failed", "recorded"]
NOW = 1_800_000_000


def _module(name: str) -> ModuleType:
    """An example script, loaded from its file (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"results_subscriber_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def subscribe() -> ModuleType:
    return _module("subscribe")


@pytest.fixture
def consumer() -> ModuleType:
    return _module("consumer")


def _result(status: Status, n: int) -> Result:
    task = TaskRecord(
        f"task-{n}", f"req-{n}", NOW + 3600, NOW + 7200, "room-1", "5000.live.push.com", "live", "ap-singapore"
    )
    values: dict[str, Any] = {"received_at": iso(NOW), "tasks": (task,)}
    if status in ("rejected", "failed"):
        values |= {"error": ErrorInfo("InvalidParameter", "EndTime must be later than StartTime", "EndTime")}
        values["tasks"] = ()
    elif status == "deferred":
        values |= {"tasks": (), "window": (NOW + 30 * 86400, NOW + 30 * 86400 + 3600)}
    elif status == "skipped":
        values |= {"tasks": (), "reason": "trigger PING needs no action"}
    elif status == "recorded":
        recording = {"taskId": task.task_id, "fileId": f"file-{n}", "fileFormat": "mp4", "videoUrl": "https://v/1.mp4",
                     "startTime": NOW + 3600, "endTime": NOW + 7200, "duration": 3600, "fileSize": 1024,
                     "streamName": "room-1"}  # fmt: skip
        return Result(status, f"b-{n}", "record", "tencent", "BOOKING_CREATED", **values, recording=recording)
    elif status.startswith("recording_"):
        return Result(status, f"b-{n}", "record", "tencent", None, **values, record_event={"record_event": "x"})
    return Result(status, f"b-{n}", "create", "direct", None, **values)


def _drain(consumer: ModuleType, sqs: Any, queue_url: str, validator: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    results: list[dict[str, Any]] = []
    invalid: list[Any] = []
    while True:
        batch = consumer.receive(sqs, queue_url, validator, wait_seconds=0)
        if not batch.results and not batch.invalid:
            return results, invalid
        results += batch.results
        invalid += batch.invalid


def test_the_queue_receives_only_the_filtered_statuses_all_valid(
    stack: MotoStack, subscribe: ModuleType, consumer: ModuleType
) -> None:
    sns, sqs = stack.client("sns"), stack.client("sqs")
    made = subscribe.subscribe(sns, sqs, stack.topic_arn, "results-ops", WANTED)
    publisher = SnsPublisher(stack.topic_arn, sns)
    published = ["created", "deferred", "failed", "skipped", "rejected", "recorded", "recording_started", "created"]
    for n, status in enumerate(published):
        publisher.publish(_result(status, n))  # type: ignore[arg-type]  # the statuses above are Status values
    results, invalid = _drain(consumer, sqs, made.queue_url, consumer.load_validator())
    assert invalid == []
    assert sorted(r["status"] for r in results) == sorted(s for s in published if s in WANTED)
    assert [r["bookingId"] for r in results if r["status"] == "created"] == ["b-0", "b-7"]
    assert all(consumer.describe(r).split()[1] == r["status"] for r in results)
    assert len(stack.results()) == len(published)  # the topic's other subscriber got everything


def test_the_consumer_leaves_a_message_that_is_not_a_valid_result(
    stack: MotoStack, subscribe: ModuleType, consumer: ModuleType
) -> None:
    sqs = stack.client("sqs")
    made = subscribe.subscribe(stack.client("sns"), sqs, stack.topic_arn, "results-ops", WANTED)
    good = _result("created", 1).to_message()
    sqs.send_message(QueueUrl=made.queue_url, MessageBody=json.dumps({**good, "status": "queued"}))
    sqs.send_message(QueueUrl=made.queue_url, MessageBody="{not json")
    envelope = {"Type": "Notification", "TopicArn": stack.topic_arn, "Message": json.dumps(good)}
    sqs.send_message(QueueUrl=made.queue_url, MessageBody=json.dumps(envelope))  # raw delivery turned off
    batch = consumer.receive(sqs, made.queue_url, consumer.load_validator(), wait_seconds=0)
    assert [r["bookingId"] for r in batch.results] == ["b-1"]
    assert len(batch.invalid) == 2 and any("status" in " ".join(why) for _, why in batch.invalid)
    left = sqs.get_queue_attributes(QueueUrl=made.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert left["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "2"  # not deleted: redelivered, then DLQ


def test_the_filter_policy_is_on_the_status_attribute(subscribe: ModuleType) -> None:
    assert subscribe.filter_policy(["failed", "created", "failed"]) == {"status": ["created", "failed"]}


def test_the_cloudformation_subscription_passes_cfn_lint() -> None:
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(EXAMPLE / "subscription.yml")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
