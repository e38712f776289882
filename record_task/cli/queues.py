"""`redrive` (the dead-letter queue back to the queue) and `republish` (a booking's stored results, again)."""

from __future__ import annotations

import argparse

from record_task.cli.context import AWS_SETTINGS, CliError, Context, add_command, reaching
from record_task.cli.redrive import redrive
from record_task.ledger.items import Slot, State, booking_key
from record_task.model.results import Result
from record_task.sources.registry import BY_NAME

REDRIVE_OPTIONS = (
    ("--dlq-url", None, "the dead-letter queue (default: DEAD_LETTER_QUEUE_URL, or the stack's)"),
    ("--queue-url", None, "the queue (default: BOOKINGS_QUEUE_URL, or the stack's)"),
    ("--limit", None, "move at most this many messages"),
    ("--wait-seconds", 2, "long polling per receive (0-20)"),
    ("--visibility-timeout", 120, "seconds a failed message stays hidden"),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    command = add_command(commands, common, "redrive", run_redrive,
        "move the dead-letter queue's messages back to the queue",
        "Copy each DLQ message (body and attributes) to the queue, then delete it from the DLQ; a "
        "message the queue did not take stays in the DLQ and is named. The queues come from --dlq-url/--queue-url, "
        "DEAD_LETTER_QUEUE_URL/BOOKINGS_QUEUE_URL, or the stack (--stage). docs/deploying.md, section 8.")  # fmt: skip
    for flag, default, text in REDRIVE_OPTIONS:
        command.add_argument(flag, type=str if flag.endswith("-url") else int, default=default, help=text)

    again = add_command(commands, common, "republish", run_republish,
        "publish a booking's stored results to the results topic again",
        "Publish every result the ledger keeps for a booking (its create and cancel outcomes, then its "
        "recording results) to RESULTS_TOPIC_ARN again, for a subscriber that lost them. A result the function has "
        "not published yet is published and marked, as the function would.")  # fmt: skip
    again.add_argument("booking_id", metavar="BOOKING_ID")
    again.add_argument("--source", choices=sorted(BY_NAME), default="direct", help="the booking's source")


def run_redrive(ctx: Context, args: argparse.Namespace) -> int:
    dlq_url = args.dlq_url or ctx.setting("DEAD_LETTER_QUEUE_URL", "or give --dlq-url, or --stage STAGE")
    queue_url = args.queue_url or ctx.setting("BOOKINGS_QUEUE_URL", "give --queue-url or --stage STAGE")
    with reaching("AWS", AWS_SETTINGS):
        report = redrive(
            ctx.client("sqs"),
            dlq_url,
            queue_url,
            limit=args.limit,
            wait_seconds=args.wait_seconds,
            visibility_timeout=args.visibility_timeout,
        )
    if not report.moved and any(f.step == "receive" for f in report.failed):
        cause = report.failed[-1]
        raise CliError(f"AWS could not be reached or refused: receiving from {dlq_url}: {cause.code}: {cause.message}; "
                       f"check DEAD_LETTER_QUEUE_URL (or --dlq-url, --stage) and {AWS_SETTINGS}")  # fmt: skip
    failed = [{"messageId": f.message_id, "step": f.step, "code": f.code, "message": f.message} for f in report.failed]
    lines = [f"not moved: {f['messageId'] or '-'} ({f['step']}) {f['code']}: {f['message']}" for f in failed]
    lines.append(f"moved {len(report.moved)} message(s) from {dlq_url} to {queue_url}; {len(failed)} failed")
    ctx.emit({"moved": report.moved, "failed": failed, "dlqUrl": dlq_url, "queueUrl": queue_url}, "\n".join(lines))
    return 0 if report.ok else 1


def run_republish(ctx: Context, args: argparse.Namespace) -> int:
    from record_task.ledger.outbox import Outbox
    from record_task.ledger.publisher import SnsPublisher

    pk = booking_key(args.source, args.booking_id)
    topic = ctx.setting("RESULTS_TOPIC_ARN")
    with reaching("AWS", f"BOOKINGS_TABLE, RESULTS_TOPIC_ARN and {AWS_SETTINGS}"):
        entry = ctx.ledger.get(pk)
        if entry is None or entry.state == State.VERDICT:
            raise CliError(f"no booking {args.booking_id!r} from {args.source} in {ctx.setting('BOOKINGS_TABLE')}")
        outbox = Outbox(ctx.ledger, SnsPublisher(topic, ctx.client("sns")))
        sent: list[dict[str, str | None]] = []
        first = [action for action in ("create", "cancel") if action in entry.results]
        for action in first + sorted(set(entry.results) - set(first)):
            result = Result.from_message(entry.results[action])
            pending = entry.unpublished == action
            still_due = entry.state == State.DEFERRED
            if not (pending and outbox.resend(pk, Slot(action), result, ctx.now, still_due=still_due)):
                outbox.publish(result)
            sent.append({"slot": action, "status": result.status})
        for name, record in sorted(entry.recordings.items()):
            outbox.publish(Result.from_message(record["result"]))
            sent.append({"slot": name, "status": record["result"]["status"]})
    lines = [f"published {s['status']} ({s['slot']})" for s in sent]
    lines.append(f"republished {len(sent)} result(s) of booking {args.booking_id} to {topic}")
    ctx.emit({"bookingId": args.booking_id, "topic": topic, "published": sent}, "\n".join(lines))
    return 0
