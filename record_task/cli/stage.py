"""`--stage STAGE`: a deployed stack's resource names, read from CloudFormation, over the environment.

osls names the stack `record-task-<stage>` (serverless.yml `service`); its Outputs give the queues and the
results topic, and the bookings table is the physical id of its `BookingsTable` resource.
"""

from __future__ import annotations

from typing import Any

from record_task.cli.context import AWS_SETTINGS, CliError, reaching

SERVICE = "record-task"
TABLE_RESOURCE = "BookingsTable"
# stack output -> the setting it fills
OUTPUTS = {
    "ResultsTopicArn": "RESULTS_TOPIC_ARN",
    "RecordQueueUrl": "BOOKINGS_QUEUE_URL",
    "DeadLetterQueueUrl": "DEAD_LETTER_QUEUE_URL",
}


def stack_name(stage: str | None, stack: str | None) -> str | None:
    return stack or (f"{SERVICE}-{stage}" if stage else None)


def stack_settings(cloudformation: Any, name: str) -> dict[str, str]:
    """The settings a deployed stack names: its outputs and its bookings table."""
    from botocore.exceptions import ClientError

    with reaching("AWS", AWS_SETTINGS + f" and the stack name ({name})"):
        try:
            stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                raise CliError(
                    f"stack {name} does not exist in this account and region; check --stage/--region"
                ) from None
            raise
        outputs = {o["OutputKey"]: o["OutputValue"] for stack in stacks for o in stack.get("Outputs", [])}
        found = {setting: outputs[key] for key, setting in OUTPUTS.items() if key in outputs}
        try:
            resource = cloudformation.describe_stack_resource(StackName=name, LogicalResourceId=TABLE_RESOURCE)
            found["BOOKINGS_TABLE"] = resource["StackResourceDetail"]["PhysicalResourceId"]
        except ClientError:  # serverless.yml names it `<service>-<stage>-bookings`
            found["BOOKINGS_TABLE"] = f"{name}-bookings"
    return found
