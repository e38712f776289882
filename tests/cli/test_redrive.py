"""DLQ redrive (`python -m record_task redrive`) on the local stack: what leaves the DLQ arrives intact,
and nothing leaves it before the queue has accepted the copy."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from record_task.cli import redrive
from record_task.cli.main import main
from tools import redrive as shim
from tools.local_aws import MotoStack

FAST = ["--wait-seconds", "0"]  # moto answers at once; long polling would only add time


def _attributes(index: int) -> dict[str, dict[str, Any]]:
    return {
        "source": {"DataType": "String", "StringValue": ("direct", "calcom", "calendly")[index % 3]},
        "attempt": {"DataType": "Number", "StringValue": str(index)},
        "raw": {"DataType": "Binary", "BinaryValue": bytes([index, 0, 255])},
    }


def _fill_dlq(stack: MotoStack, bodies: list[str]) -> list[tuple[str, str]]:
    """Puts each body in the DLQ with attributes; returns (body, attributes as JSON) for comparison."""
    sqs = stack.client("sqs")
    sent = []
    for index, body in enumerate(bodies):
        attributes = _attributes(index)
        sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=body, MessageAttributes=attributes)
        sent.append(_key(body, attributes))
    return sent


def _key(body: str, attributes: dict[str, dict[str, Any]]) -> tuple[str, str]:
    printable = {
        name: {k: (v.hex() if isinstance(v, bytes) else v) for k, v in value.items()}
        for name, value in attributes.items()
    }
    return body, json.dumps(printable, sort_keys=True)


def _drain(stack: MotoStack, url: str) -> list[tuple[str, str]]:
    sqs = stack.client("sqs")
    found = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
    ).get("Messages", []):
        for message in batch:
            found.append(_key(message["Body"], message.get("MessageAttributes", {})))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _bookings(count: int) -> list[str]:
    return [json.dumps({"BookingId": f"b-{n}", "StreamName": f"room-{n}", "EndTime": 1764561600}) for n in range(count)]


def _stack_with_outputs(stack: MotoStack, name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    stack.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_moves_every_message_with_its_body_and_attributes(stack: MotoStack) -> None:
    sent = _fill_dlq(stack, _bookings(23))  # more than two receive batches

    code = main(["redrive", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url, *FAST])

    assert code == 0
    assert Counter(_drain(stack, stack.queue_url)) == Counter(sent)
    assert _drain(stack, stack.dlq_url) == []


def test_a_message_the_queue_refuses_stays_in_the_dlq(stack: MotoStack) -> None:
    sqs = stack.client("sqs")
    small_queue = sqs.create_queue(QueueName="record-task-small", Attributes={"MaximumMessageSize": "1024"})
    small, large = _bookings(1)[0], json.dumps({"BookingId": "b-large", "Extension": "x" * 2000})
    sent = _fill_dlq(stack, [small, large])

    report = redrive.redrive(sqs, stack.dlq_url, small_queue["QueueUrl"], wait_seconds=0, visibility_timeout=0)

    assert len(report.moved) == 1
    assert [(f.step, f.code) for f in report.failed] == [("send", "InvalidParameterValue")]
    assert _drain(stack, small_queue["QueueUrl"]) == [sent[0]]
    assert _drain(stack, stack.dlq_url) == [sent[1]]  # visible again at once (timeout 0): seen once, not looped


def test_an_unreachable_queue_moves_nothing_and_fails_the_command(
    stack: MotoStack, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = _fill_dlq(stack, _bookings(3))
    missing = stack.queue_url.rsplit("/", 1)[0] + "/no-such-queue"

    code = main(["redrive", "--dlq-url", stack.dlq_url, "--queue-url", missing, "--visibility-timeout", "0", *FAST])

    assert code == 1
    assert "moved 0 message(s)" in capsys.readouterr().out
    assert Counter(_drain(stack, stack.dlq_url)) == Counter(sent)


def test_limit_moves_that_many(stack: MotoStack) -> None:
    _fill_dlq(stack, _bookings(12))

    assert main(["redrive", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url, "--limit", "5", *FAST]) == 0

    assert len(_drain(stack, stack.queue_url)) == 5
    assert len(_drain(stack, stack.dlq_url)) == 7


@pytest.mark.parametrize("target", [["--stack", "record-task-ops"], ["--stage", "ops"]])
def test_finds_the_queues_from_the_stack_outputs(stack: MotoStack, target: list[str]) -> None:
    _stack_with_outputs(
        stack, "record-task-ops", {"RecordQueueUrl": stack.queue_url, "DeadLetterQueueUrl": stack.dlq_url}
    )
    sent = _fill_dlq(stack, _bookings(2))

    assert main(["redrive", *target, *FAST]) == 0

    assert Counter(_drain(stack, stack.queue_url)) == Counter(sent)


@pytest.mark.parametrize(
    ("outputs", "says"),
    [({"RecordQueueUrl": "unused"}, "no output DeadLetterQueueUrl"), (None, "record-task-ops does not exist")],
)
def test_a_stack_without_the_queues_is_an_error(
    stack: MotoStack, capsys: pytest.CaptureFixture[str], outputs: dict[str, str] | None, says: str
) -> None:
    if outputs is not None:
        _stack_with_outputs(stack, "record-task-ops", outputs)
    _fill_dlq(stack, _bookings(1))

    assert main(["redrive", "--stage", "ops", *FAST]) == 1

    assert says in capsys.readouterr().err
    assert len(_drain(stack, stack.dlq_url)) == 1


def test_without_queues_it_names_the_settings(
    stack: MotoStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL", raising=False)
    assert main(["redrive", "--queue-url", stack.queue_url, *FAST]) == 1
    assert "DEAD_LETTER_QUEUE_URL is not set" in capsys.readouterr().err


def test_the_queues_come_from_the_environment(stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", stack.dlq_url)
    monkeypatch.setenv("BOOKINGS_QUEUE_URL", stack.queue_url)
    sent = _fill_dlq(stack, _bookings(2))
    assert main(["redrive", *FAST]) == 0
    assert Counter(_drain(stack, stack.queue_url)) == Counter(sent)


def test_the_old_tool_still_works(stack: MotoStack) -> None:
    sent = _fill_dlq(stack, _bookings(1))
    assert shim.main(["--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url, *FAST]) == 0
    assert Counter(_drain(stack, stack.queue_url)) == Counter(sent)


def test_an_unreachable_dlq_names_aws_and_the_setting(
    stack: MotoStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.local_aws import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["redrive", "--dlq-url", stack.dlq_url, "--queue-url", stack.queue_url, *FAST]) == 1
    err = capsys.readouterr().err
    assert "AWS could not be reached" in err and "DEAD_LETTER_QUEUE_URL" in err and "Traceback" not in err
