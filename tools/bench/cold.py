"""Cold starts: each run is a fresh interpreter, timed from its spawn to the moment it has its answer.

Booking traffic is sparse, so most webhooks meet a new container; what matters is how far the function's
first answer is from the irreducible work of the same job (start Python, import boto3, build a DynamoDB
and an SNS client, one conditional `put_item`, one `publish`) against the same moto server. The jobs are
interleaved (A, B, A, B, ...) so that the shared machine's noise falls on every job alike.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tools.bench.services import ROOT, Services
from tools.lambda_events import direct
from tools.sample_events import signed_direct

_PREAMBLE = (
    "import json, os, resource, sys, time\n"
    "def cpu():\n"
    "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    return usage.ru_utime + usage.ru_stime\n"
)
_READY = "ready, ready_cpu = time.time(), cpu()\n"
_REPORT = (
    "end, end_cpu = time.time(), cpu()\n"
    'print("BENCH " + json.dumps({"ready": ready, "end": end, "readyCpu": ready_cpu, "cpu": end_cpu,'
    ' "xray": "aws_xray_sdk" in sys.modules}))\n'
)

FLOOR_JOB = (
    _PREAMBLE
    + """import uuid
import boto3
dynamodb, sns = boto3.client("dynamodb"), boto3.client("sns")
"""
    + _READY
    + """booking = "floor-" + uuid.uuid4().hex
dynamodb.put_item(
    TableName=os.environ["BOOKINGS_TABLE"],
    Item={"pk": {"S": booking}, "state": {"S": "created"}},
    ConditionExpression="attribute_not_exists(pk)",
)
sns.publish(
    TopicArn=os.environ["RESULTS_TOPIC_ARN"],
    Message=json.dumps({"status": "created", "bookingId": booking}),
    MessageAttributes={"status": {"DataType": "String", "StringValue": "created"}},
)
"""
    + _REPORT
)

WEBHOOK_JOB = (
    _PREAMBLE
    + "import handler\n"
    + _READY
    + """

class Context:
    function_name = "record-task-bench-webhook"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:record-task-bench-webhook"
    aws_request_id = "00000000-0000-0000-0000-00000000bench"

    def get_remaining_time_in_millis(self):
        return 29000


with open(os.environ["BENCH_EVENT"], encoding="utf-8") as file:
    event = json.load(file)
answer = handler.webhook(event, Context())
assert answer["statusCode"] == 201, answer
"""
    + _REPORT
)

# The strict floor (the issue's): nothing but the AWS work itself, timed from spawn to process exit.
STRICT_FLOOR_JOB = """import os, boto3
dynamodb, sns = boto3.client("dynamodb"), boto3.client("sns")
dynamodb.put_item(TableName=os.environ["BOOKINGS_TABLE"], Item={"pk": {"S": "strict-" + os.urandom(8).hex()}},
                  ConditionExpression="attribute_not_exists(pk)")
sns.publish(TopicArn=os.environ["RESULTS_TOPIC_ARN"], Message="{}")
print('BENCH {"ready": 0, "end": 0, "readyCpu": 0, "cpu": 0, "xray": false}')
"""

IMPORT_BOTO3 = _PREAMBLE + "import boto3\n" + _READY + _REPORT
IMPORT_HANDLER = _PREAMBLE + "import handler\n" + _READY + _REPORT

FLOOR = "floor: boto3, 2 clients, put_item, publish"
STRICT_FLOOR = "strict floor: import boto3, 2 clients, PutItem, Publish, exit"
WEBHOOK = "function: signed POST /bookings -> 201"
BOTO3 = "import boto3"
HANDLER = "import handler"
HANDLER_TRACED = "import handler (RECORD_TASK_TRACING=true)"
JOBS = {
    FLOOR: FLOOR_JOB,
    STRICT_FLOOR: STRICT_FLOOR_JOB,
    WEBHOOK: WEBHOOK_JOB,
    BOTO3: IMPORT_BOTO3,
    HANDLER: IMPORT_HANDLER,
    HANDLER_TRACED: IMPORT_HANDLER,
}


@dataclass
class ColdResults:
    runs: int
    total_ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in JOBS})
    ready_ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in JOBS})
    cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in JOBS})
    ready_cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in JOBS})
    exit_ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in JOBS})  # spawn -> exit
    xray: dict[str, set[bool]] = field(default_factory=lambda: {name: set() for name in JOBS})
    log_lines: int = 0

    def median(self, name: str) -> float:
        return statistics.median(self.total_ms[name])

    def ratio(self, numerator: str, denominator: str) -> float:
        return self.median(numerator) / self.median(denominator)

    def exit_ratio(self, numerator: str, denominator: str) -> float:
        """Medians of spawn-to-exit times: what the strict floor is measured by."""
        return statistics.median(self.exit_ms[numerator]) / statistics.median(self.exit_ms[denominator])

    def paired_ratio(self, numerator: str, denominator: str) -> float:
        """Median of the per-round ratios: each pair ran back to back, under the same load."""
        pairs = zip(self.total_ms[numerator], self.total_ms[denominator], strict=True)
        return statistics.median(a / b for a, b in pairs)


def _webhook_event(directory: Path) -> Path:
    now = int(time.time())
    booking = direct(f"cold-{uuid.uuid4().hex[:12]}", now + 3600, now + 7200)
    path = directory / f"{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(signed_direct(json.dumps(booking))), encoding="utf-8")
    return path


def _run(code: str, env: dict[str, str], results: ColdResults | None, name: str) -> None:
    spawned = time.time()  # the child reports wall-clock times: both ends on the same clock
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    exited = time.time()
    if done.returncode != 0:
        raise RuntimeError(f"cold job {name!r} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = done.stdout.splitlines()
    report = json.loads(next(line for line in lines if line.startswith("BENCH "))[6:])
    if results is not None:
        results.exit_ms[name].append((exited - spawned) * 1000)
        results.total_ms[name].append((report["end"] - spawned) * 1000)
        results.ready_ms[name].append((report["ready"] - spawned) * 1000)
        results.cpu_ms[name].append(report["cpu"] * 1000)
        results.ready_cpu_ms[name].append(report["readyCpu"] * 1000)
        results.xray[name].add(bool(report["xray"]))
        results.log_lines += len(lines) - 1


def measure(services: Services, runs: int) -> ColdResults:
    """`runs` interleaved rounds of every job, after one uncounted round (bytecode and disk caches)."""
    results = ColdResults(runs=runs)
    with tempfile.TemporaryDirectory(prefix="bench-events-") as scratch:
        for round_number in range(runs + 1):
            for name, code in JOBS.items():
                env = services.function_env()
                if name == HANDLER_TRACED:
                    env["RECORD_TASK_TRACING"] = "true"
                if name == WEBHOOK:
                    env["BENCH_EVENT"] = str(_webhook_event(Path(scratch)))
                _run(code, env, results if round_number else None, name)
    return results
