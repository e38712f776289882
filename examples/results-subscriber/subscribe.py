"""Subscribes an SQS queue to record-task's results topic, for some result statuses only.

The same as subscription.yml, with boto3, for trying it out (against AWS or a local moto server):

    python subscribe.py --topic-arn arn:aws:sns:us-east-1:123456789012:record-task-prod-results \\
        --queue-name record-task-results-ops --status created failed recorded

The function sets the message attribute `status` (and `source`) on every result, so an SNS filter policy
on it delivers only the statuses asked for; the rest never reach the queue (and are not paid for there).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

import boto3

DEFAULT_STATUSES = ("created", "failed", "recorded")


@dataclass(frozen=True)
class Subscription:
    queue_url: str
    queue_arn: str
    subscription_arn: str


def filter_policy(statuses: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """An SNS filter policy on the `status` message attribute (any of `statuses`)."""
    return {"status": sorted(set(statuses))}


def subscribe(
    sns: Any, sqs: Any, topic_arn: str, queue_name: str, statuses: list[str] | tuple[str, ...]
) -> Subscription:
    """Creates the queue (or finds it), lets the topic send to it, and subscribes it with the filter policy."""
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ResultsTopicSends",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    subscription = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={
            "RawMessageDelivery": "true",  # the message body is the result itself
            "FilterPolicyScope": "MessageAttributes",
            "FilterPolicy": json.dumps(filter_policy(statuses)),
        },
        ReturnSubscriptionArn=True,
    )
    return Subscription(queue_url, queue_arn, subscription["SubscriptionArn"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic-arn", required=True, help="record-task's ResultsTopicArn output")
    parser.add_argument("--queue-name", required=True)
    parser.add_argument("--status", nargs="+", default=list(DEFAULT_STATUSES), help="statuses to receive")
    parser.add_argument("--endpoint-url", help="e.g. http://127.0.0.1:5000 for `make stack`'s moto server")
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    session = boto3.session.Session(region_name=args.region)
    made = subscribe(
        session.client("sns", endpoint_url=args.endpoint_url),
        session.client("sqs", endpoint_url=args.endpoint_url),
        args.topic_arn,
        args.queue_name,
        args.status,
    )
    print(json.dumps({"queueUrl": made.queue_url, "subscriptionArn": made.subscription_arn}))


if __name__ == "__main__":
    main()
