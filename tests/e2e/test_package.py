"""The deployment package: built offline with osls exactly as `osls deploy` would, then inspected.

Slow (one `osls package`, ~25 s), so it runs once per session and every check reads its output.
Operational choices (fleet rate shares, alarms, IAM) are checked on the compiled CloudFormation
template, because that, not serverless.yml, is what AWS receives. docs/deploying.md explains them.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from record_task.config import Settings

ROOT = Path(__file__).resolve().parents[2]
OSLS = ROOT / "node_modules" / ".bin" / "osls"
LAMBDA_LIMIT_MB = 250  # unpacked, function + layers
TARGET_MB = 30
DOMAIN = "push.example.com"
DEPLOY_PARAMS = (f"--param=defaultDomainName={DOMAIN}",)  # required outside the local stage
ROUTES = {"POST /bookings", "POST /webhooks/calcom", "POST /webhooks/calendly", "POST /webhooks/tencent"}
LEDGER_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
}
UNSCOPABLE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}  # X-Ray has no resource ARNs
DLQ_NAME = {"Fn::GetAtt": ["RecordDeadLetterQueue", "QueueName"]}
ALARM_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}

pytestmark = pytest.mark.package


def _osls(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # offline: no account needed
    return subprocess.run([str(OSLS), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _need_osls() -> None:
    if not OSLS.exists():
        if os.environ.get("CI"):
            pytest.fail("node_modules/.bin/osls is missing: `npm ci` did not run")
        pytest.skip("node_modules/.bin/osls is missing: run `make setup`")


def _printed(*args: str) -> dict[str, Any]:
    _need_osls()
    printed = _osls("print", *args, "--format", "json")
    assert printed.returncode == 0, printed.stdout + printed.stderr
    config: dict[str, Any] = json.loads(printed.stdout)
    return config


@pytest.fixture(scope="module")
def package() -> Path:
    _need_osls()
    built = _osls("package", "--stage", "dev", *DEPLOY_PARAMS)
    assert built.returncode == 0, built.stdout + built.stderr
    return ROOT / ".serverless"


@pytest.fixture(scope="module")
def archive(package: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(package / "record-task.zip")


@pytest.fixture(scope="module")
def template(package: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((package / "cloudformation-template-update-stack.json").read_text())
    return loaded


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


@pytest.fixture(scope="module")
def functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each function's properties, by its handler's name (queue, webhook, sweep)."""
    return {
        v["Properties"]["Handler"].removeprefix("handler."): v["Properties"]
        for v in resources.values()
        if v["Type"] == "AWS::Lambda::Function"
    }


@pytest.fixture(scope="module")
def statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    role = resources["IamRoleLambdaExecution"]["Properties"]
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_size_is_far_below_the_lambda_limit(package: Path, archive: zipfile.ZipFile) -> None:
    zipped = (package / "record-task.zip").stat().st_size / 1e6
    unpacked = sum(info.file_size for info in archive.infolist()) / 1e6
    print(f"package: zipped {zipped:.1f} MB, unpacked {unpacked:.1f} MB")
    assert unpacked <= LAMBDA_LIMIT_MB
    assert unpacked <= TARGET_MB


def test_holds_the_function_and_its_dependencies_only(archive: zipfile.ZipFile) -> None:
    names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    for needed in (
        "handler.py",
        "record_task/__init__.py",
        "record_task/tencent/api.py",
        "record_task/bookings/decision.py",
    ):
        assert needed in names
    assert {"aws_lambda_powertools", "tencentcloud", "aws_xray_sdk"} <= tops
    assert any(name.startswith("tencentcloud/common/") for name in names)
    for unwanted in ("tests", "events", "node_modules", ".venv", "boto3", "botocore", "Makefile", "README.md"):
        assert unwanted not in tops, f"{unwanted} must not be deployed"
    assert not [name for name in names if name.startswith("record_task/cli/")], "the operator CLI is not deployed"


def test_compiled_wheels_target_the_lambda_runtime(archive: zipfile.ZipFile) -> None:
    compiled = [name for name in archive.namelist() if name.endswith(".so")]
    assert compiled, "expected at least one compiled module (wrapt)"
    assert all("cpython-312-x86_64-linux-gnu" in name for name in compiled), compiled


def test_template_passes_cfn_lint(package: Path) -> None:
    lint = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_template_wires_queue_dlq_and_environment(
    resources: dict[str, Any], functions: dict[str, dict[str, Any]]
) -> None:
    queue = resources["RecordQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["RecordDeadLetterQueue", "Arn"]}
    assert set(functions) == {"queue", "webhook", "sweep"}
    for props in functions.values():
        env = props["Environment"]["Variables"]
        assert env["MAX_RECEIVE_COUNT"] == str(queue["RedrivePolicy"]["maxReceiveCount"])
        assert env["RESULTS_TOPIC_ARN"] == {"Ref": "ResultsTopic"}
        assert env["BOOKINGS_TABLE"] == resources["BookingsTable"]["Properties"]["TableName"]
        assert env["DEFAULT_DOMAIN_NAME"] == DOMAIN
        assert props["Runtime"] == "python3.12"
    assert queue["VisibilityTimeout"] >= 6 * max(p["Timeout"] for n, p in functions.items() if n != "sweep")
    settings = {  # the deployed settings pass each function's own checks at start
        name: Settings.from_env({k: v for k, v in props["Environment"]["Variables"].items() if isinstance(v, str)})
        for name, props in functions.items()
    }  # and a crashed invocation's claim has lapsed when SQS delivers its message again:
    assert functions["queue"]["Timeout"] < settings["queue"].claim_lease_seconds < queue["VisibilityTimeout"]
    mapping = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::Lambda::EventSourceMapping")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_booking_ledger_is_the_only_table(resources: dict[str, Any], functions: dict[str, dict[str, Any]]) -> None:
    tables = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == {"BookingsTable"}
    bookings = tables["BookingsTable"]
    assert bookings["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert bookings["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    [index] = bookings["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "due-index"
    assert index["KeySchema"] == [
        {"AttributeName": "dueShard", "KeyType": "HASH"},
        {"AttributeName": "dueAt", "KeyType": "RANGE"},
    ]
    for props in functions.values():
        assert "IDEMPOTENCY_TABLE" not in props["Environment"]["Variables"]


def test_webhook_serves_every_route_and_the_tencent_callbacks(
    resources: dict[str, Any], functions: dict[str, dict[str, Any]]
) -> None:
    routes = {v["Properties"]["RouteKey"]: v["Properties"] for v in resources.values() if v["Type"].endswith("::Route")}
    assert set(routes) == ROUTES
    assert all(route["Target"] == routes["POST /bookings"]["Target"] for route in routes.values())
    integration = resources["HttpApiIntegrationWebhook"]["Properties"]
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["WebhookLambdaFunction", "Arn"]}
    env = functions["webhook"]["Environment"]["Variables"]
    for closed_by_default in ("DIRECT_WEBHOOK_SECRET", "TENCENT_CALLBACK_KEY", "CALCOM_WEBHOOK_SECRET"):
        assert env[closed_by_default] == ""


def test_fleet_shares_the_api_rate_and_instances_match_the_concurrency_bounds(
    resources: dict[str, Any], functions: dict[str, dict[str, Any]]
) -> None:
    env = {name: props["Environment"]["Variables"] for name, props in functions.items()}
    assert {e["LIVE_API_RATE_PER_SECOND"] for e in env.values()} == {"20"}
    assert sum(Fraction(e["LIVE_RATE_SHARE"]) for e in env.values()) == 1
    assert all(Fraction(e["LIVE_RATE_SHARE"]) > 0 for e in env.values())
    mapping = next(v["Properties"] for v in resources.values() if v["Type"] == "AWS::Lambda::EventSourceMapping")
    bounds = {
        "queue": mapping["ScalingConfig"]["MaximumConcurrency"],
        "webhook": functions["webhook"]["ReservedConcurrentExecutions"],
        "sweep": functions["sweep"]["ReservedConcurrentExecutions"],
    }
    assert bounds["sweep"] == 1
    assert bounds["queue"] >= 2  # the smallest maximumConcurrency SQS accepts
    assert {name: int(e["LIVE_RATE_INSTANCES"]) for name, e in env.items()} == bounds
    rate = Fraction(env["queue"]["LIVE_API_RATE_PER_SECOND"])
    print(
        "calls/s per instance:", {n: float(rate * Fraction(e["LIVE_RATE_SHARE"]) / bounds[n]) for n, e in env.items()}
    )


def test_http_api_throttles_within_the_webhook_concurrency(
    resources: dict[str, Any], functions: dict[str, dict[str, Any]]
) -> None:
    settings = resources["HttpApiStage"]["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingBurstLimit"] == functions["webhook"]["ReservedConcurrentExecutions"]
    assert 0 < settings["ThrottlingRateLimit"] <= settings["ThrottlingBurstLimit"]


@pytest.mark.parametrize(
    ("namespace", "metric", "dimension", "value"),
    [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", DLQ_NAME),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", {"Fn::GetAtt": ["RecordQueue", "QueueName"]}),
        ("AWS/Lambda", "Errors", "FunctionName", {"Ref": "QueueLambdaFunction"}),
        ("AWS/Lambda", "Errors", "FunctionName", {"Ref": "WebhookLambdaFunction"}),
        ("AWS/Lambda", "Errors", "FunctionName", {"Ref": "SweepLambdaFunction"}),
        ("AWS/Lambda", "Throttles", "FunctionName", {"Ref": "WebhookLambdaFunction"}),
        ("RecordTask", "SweepFailed", "service", "record-task"),
        ("RecordTask", "OperatorActionNeeded", "service", "record-task"),
    ],
)  # fmt: skip
def test_alarm_watches(resources: dict[str, Any], namespace: str, metric: str, dimension: str, value: Any) -> None:
    alarms = [
        v["Properties"]
        for v in resources.values()
        if v["Type"] == "AWS::CloudWatch::Alarm"
        and (v["Properties"]["Namespace"], v["Properties"]["MetricName"]) == (namespace, metric)
        and v["Properties"]["Dimensions"] == [{"Name": dimension, "Value": value}]
    ]
    assert len(alarms) == 1, f"one alarm on {namespace} {metric} {value}"
    [alarm] = alarms
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


def test_alarms_notify_the_topic_only_when_one_is_given(template: dict[str, Any], resources: dict[str, Any]) -> None:
    alarms = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms
    for alarm in alarms:
        assert alarm["AlarmActions"] == ALARM_ACTIONS
        assert alarm["OKActions"] == ALARM_ACTIONS
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert template["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}


def test_no_wildcard_where_a_resource_can_be_named(statements: list[dict[str, Any]]) -> None:
    for statement in statements:
        actions = _as_list(statement["Action"])
        assert not any(action == "*" or action.endswith(":*") for action in actions), statement
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= UNSCOPABLE_ACTIONS, statement


def test_ledger_policy_names_the_table_and_its_index(statements: list[dict[str, Any]]) -> None:
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))]
    assert [set(s["Action"]) for s in dynamodb] == [LEDGER_ACTIONS]
    assert dynamodb[0]["Resource"] == [
        {"Fn::GetAtt": ["BookingsTable", "Arn"]},
        {"Fn::Sub": "${BookingsTable.Arn}/index/due-index"},
    ]


def test_tracing_is_off_by_default(statements: list[dict[str, Any]], functions: dict[str, dict[str, Any]]) -> None:
    assert not [s for s in statements if set(_as_list(s["Action"])) & UNSCOPABLE_ACTIONS]
    for props in functions.values():
        assert "TracingConfig" not in props
        assert props["Environment"]["Variables"]["RECORD_TASK_TRACING"] == "false"


def test_tracing_param_turns_it_on() -> None:
    config = _printed("--stage", "dev", *DEPLOY_PARAMS, "--param=tracing=true")
    assert config["provider"]["tracing"]["lambda"] is True  # osls then adds TracingConfig and the X-Ray IAM
    assert config["provider"]["environment"]["RECORD_TASK_TRACING"] == "true"


def test_deploy_without_a_default_domain_stops_early() -> None:
    _need_osls()
    printed = _osls("print", "--stage", "dev")
    assert printed.returncode != 0
    assert 'DEFAULT_DOMAIN_NAME": Value not found at "param" source' in printed.stdout + printed.stderr


def test_local_stage_resolves_to_literals() -> None:
    config = _printed("--stage", "local")
    for name, function in config["functions"].items():
        env = {**config["provider"]["environment"], **function.get("environment", {})}
        assert all(isinstance(value, str) for value in env.values()), (name, env)
        assert env["LIVE_ENDPOINT"] == "http://127.0.0.1:9000"
        assert env["RESULTS_TOPIC_ARN"].startswith("arn:aws:sns:us-east-1:")
        assert env["DEFAULT_DOMAIN_NAME"] == "5000.live.push.com"
        assert {
            env["CALCOM_WEBHOOK_SECRET"],
            env["CALENDLY_WEBHOOK_SECRET"],
            env["DIRECT_WEBHOOK_SECRET"],
            env["TENCENT_CALLBACK_KEY"],
        } == {"calcom-test-secret", "calendly-test-secret", "direct-test-secret", "tencent-test-key"}


def test_the_webhook_may_queue_onto_the_queue_the_queue_function_consumes(
    resources: dict[str, Any], template: dict[str, Any]
) -> None:
    """docs/contract.md, "Nothing valid is refused": BOOKINGS_QUEUE_URL is the consumed queue, and writable."""
    webhook = resources["WebhookLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert webhook["BOOKINGS_QUEUE_URL"] == {"Ref": "RecordQueue"}
    assert float(webhook["WEBHOOK_LIVE_BUDGET_SECONDS"]) > 0
    statements = resources["IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    sends = [s for s in statements if s["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": ["RecordQueue", "Arn"]}]
    mapping = next(v for v in resources.values() if v["Type"] == "AWS::Lambda::EventSourceMapping")
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["RecordQueue", "Arn"]}
