"""The deployment package: built offline with osls exactly as `osls deploy` would, then inspected.

Slow (one `osls package`, ~15 s), so it runs once per session and every check reads its output.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
OSLS = ROOT / "node_modules" / ".bin" / "osls"
LAMBDA_LIMIT_MB = 250  # unpacked, function + layers
TARGET_MB = 30

pytestmark = pytest.mark.package


def _osls(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # offline: no account needed
    return subprocess.run([str(OSLS), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def package() -> Path:
    if not OSLS.exists():
        if os.environ.get("CI"):
            pytest.fail("node_modules/.bin/osls is missing: `npm ci` did not run")
        pytest.skip("node_modules/.bin/osls is missing: run `make setup`")
    built = _osls("package", "--stage", "dev")
    assert built.returncode == 0, built.stdout + built.stderr
    return ROOT / ".serverless"


@pytest.fixture(scope="module")
def archive(package: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(package / "record-task.zip")


def test_size_is_far_below_the_lambda_limit(package: Path, archive: zipfile.ZipFile) -> None:
    zipped = (package / "record-task.zip").stat().st_size / 1e6
    unpacked = sum(info.file_size for info in archive.infolist()) / 1e6
    print(f"package: zipped {zipped:.1f} MB, unpacked {unpacked:.1f} MB")
    assert unpacked <= LAMBDA_LIMIT_MB
    assert unpacked <= TARGET_MB


def test_holds_the_function_and_its_dependencies_only(archive: zipfile.ZipFile) -> None:
    names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    for needed in ("handler.py", "record_task/__init__.py", "record_task/live.py", "record_task/service.py"):
        assert needed in names
    assert {"aws_lambda_powertools", "tencentcloud", "aws_xray_sdk"} <= tops
    assert any(name.startswith("tencentcloud/common/") for name in names)
    for unwanted in ("tests", "events", "node_modules", ".venv", "boto3", "botocore", "Makefile", "README.md"):
        assert unwanted not in tops, f"{unwanted} must not be deployed"


def test_compiled_wheels_target_the_lambda_runtime(archive: zipfile.ZipFile) -> None:
    compiled = [name for name in archive.namelist() if name.endswith(".so")]
    assert compiled, "expected at least one compiled module (wrapt)"
    assert all("cpython-312-x86_64-linux-gnu" in name for name in compiled), compiled


def test_template_passes_cfn_lint(package: Path) -> None:
    lint = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_template_wires_queue_dlq_and_environment(package: Path) -> None:
    template: dict[str, Any] = json.loads((package / "cloudformation-template-update-stack.json").read_text())
    resources = template["Resources"]
    queue = resources["RecordQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["RecordDeadLetterQueue", "Arn"]}
    functions = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    assert {props["Handler"] for props in functions.values()} == {"handler.queue", "handler.webhook", "handler.sweep"}
    for props in functions.values():
        env = props["Environment"]["Variables"]
        assert env["MAX_RECEIVE_COUNT"] == str(queue["RedrivePolicy"]["maxReceiveCount"])
        assert env["RESULTS_TOPIC_ARN"] == {"Ref": "ResultsTopic"}
        assert props["Runtime"] == "python3.12"
    assert queue["VisibilityTimeout"] >= 6 * max(p["Timeout"] for n, p in functions.items() if "Sweep" not in n)
    mapping = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::Lambda::EventSourceMapping")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    index = resources["BookingsTable"]["Properties"]["GlobalSecondaryIndexes"][0]
    assert index["IndexName"] == "due-index"


def test_local_stage_resolves_to_literals() -> None:
    if not OSLS.exists():
        pytest.skip("node_modules/.bin/osls is missing")
    printed = _osls("print", "--stage", "local", "--format", "json")
    assert printed.returncode == 0, printed.stderr
    config = json.loads(printed.stdout)
    env = config["functions"]["queue"]["environment"]
    assert env["LIVE_ENDPOINT"] == "http://127.0.0.1:9000"
    assert env["RESULTS_TOPIC_ARN"].startswith("arn:aws:sns:us-east-1:")
