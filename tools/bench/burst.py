"""The burst (docs/contract.md, "Nothing valid is refused"): many signed webhooks in a few seconds,
through the local API Gateway stand-in with the deployed webhook fleet's concurrency and rate share,
while a queue consumer with the queue fleet's share drains what the webhooks queued. Each side is a
workload process of its own (`python -m tools.bench.workload burst-webhooks|burst-queue ...`)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from tools.lambda_events import FakeContext, direct, sqs_event, sqs_record
from tools.sample_events import DIRECT_SECRET

WEBHOOK_INSTANCES = 100  # serverless.yml custom.fleet.webhook.instances (reserved concurrency)


def _post(url: str, body: str) -> tuple[int, str]:
    from record_task.sources.signatures import sign_direct

    headers = {"Content-Type": "application/json", "X-Signature-256": sign_direct(body, DIRECT_SECRET)}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"{}").get("status", "")
    except urllib.error.HTTPError as refused:
        return refused.code, ""
    except OSError as failed:  # reset or refused: the sender got no answer at all
        return 0, type(failed).__name__


def webhooks(params: dict[str, Any]) -> dict[str, Any]:
    """`count` signed POST /bookings spread evenly over `seconds`: what each was answered. Each request
    takes a free "instance" (an app of its own: a Lambda container serves one request at a time); with
    none free it is throttled (429), as Lambda's reserved concurrency does behind API Gateway."""
    import handler  # noqa: F401  (builds the parent logger the function's modules log through)
    from record_task.app import build_app
    from tools.local_api import THROTTLED, local_api

    instances: Queue[Any] = Queue()
    for _ in range(WEBHOOK_INSTANCES):
        instances.put(build_app())

    def serve(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            app = instances.get_nowait()
        except Empty:
            return THROTTLED
        try:
            return dict(app.webhook(event, context))
        finally:
            instances.put(app)

    count, seconds = int(params["count"]), float(params["seconds"])
    now = int(time.time())
    bodies = [json.dumps(direct(f"{params['tag']}-{n:04d}", now + 3600, now + 7200)) for n in range(count)]
    with local_api(serve) as base, ThreadPoolExecutor(64) as pool:
        started = time.time()

        def send(n: int) -> tuple[int, str]:
            time.sleep(max(0.0, started + n * seconds / count - time.time()))
            return _post(f"{base}/bookings", bodies[n])

        answers = list(pool.map(send, range(count)))
        sent = time.time() - started
    codes = Counter(f"{code} {status}".strip() for code, status in answers)
    return {"started": started, "sendSeconds": sent, "answers": dict(codes)}


def queue(params: dict[str, Any]) -> dict[str, Any]:
    """The queue function's share, fed by SQS as its event source mapping would: batches of 10 as they
    come, failures left for redelivery, until the emulator holds a task for every booking the webhooks
    accepted (their number appears in `expected_file` once the webhooks are answered)."""
    import boto3

    import handler

    sqs = boto3.client("sqs")
    queue_url, expected_file = params["queue_url"], Path(params["expected_file"])
    deadline = time.time() + float(params["give_up_after"])
    done_at, batches = None, 0
    while time.time() < deadline:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                     AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=1)  # fmt: skip
        messages = received.get("Messages", [])
        if messages:
            batches += 1
            records = [_record(dict(message)) for message in messages]
            answer = handler.queue(sqs_event(*records), FakeContext())
            failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if expected_file.exists() and _tasks(params["emulator"]) >= int(expected_file.read_text()):
            done_at = time.time()
            break
    return {"doneAt": done_at, "batches": batches}


def _record(message: dict[str, Any]) -> dict[str, Any]:
    source = message.get("MessageAttributes", {}).get("source", {}).get("StringValue")
    count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
    return sqs_record(message["Body"], message_id=message["MessageId"], receive_count=count, source=source)


def _tasks(emulator: str) -> int:
    with urllib.request.urlopen(f"{emulator}/_emulator/tasks", timeout=10) as answer:
        return len(json.loads(answer.read()))


def burst_row(answers: dict[str, int], send_seconds: float, all_tasks_seconds: float | None, tasks: int,
              streams: int, count: int) -> str:  # fmt: skip
    """The report's row: what the senders were answered, and when every accepted booking had its task."""
    accepted = sum(n for answer, n in answers.items() if answer.startswith(("201", "202")))
    others = {answer: n for answer, n in answers.items() if not answer.startswith(("201", "202"))}
    done = "not within the limit" if all_tasks_seconds is None else f"{all_tasks_seconds:.1f} s after the first"
    return (
        f"| burst: {count} signed webhooks in {send_seconds:.1f} s through the local API Gateway, "
        f"{WEBHOOK_INSTANCES} webhook instances sharing 0.2 of the rate, the queue consumer at share 0.4 "
        f"| 201: {answers.get('201 created', 0)}, 202 queued: {answers.get('202 queued', 0)}, anything else: "
        f"{sum(others.values())} {others or ''}; every accepted booking ({accepted}) had its task {done}; "
        f"{tasks} tasks on {streams} streams (duplicates: {tasks - streams}) "
        f"| anything else 0, no duplicate | {'**met**' if not others and tasks == streams else '**not met**'} |"
    )
