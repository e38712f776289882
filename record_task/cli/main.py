"""`python -m record_task`: the operator's commands, over the function's own environment (or a stage's).

A command group is a module with `register(commands, common)`; this module only builds the parser and
turns failures into one line on stderr with the exit status (docs/operating.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from record_task.cli import inspection, offline, queues, reconcile
from record_task.cli.context import CliError, Context
from record_task.cli.stage import OUTPUTS, stack_name, stack_settings

GROUPS = (offline, inspection, reconcile, queues)
EPILOG = """Configuration: the function's environment (BOOKINGS_TABLE, RESULTS_TOPIC_ARN, LIVE_ENDPOINT, TENCENT_REGION,
the Tencent keys, ROUTES, ...), or --stage STAGE for the names of the deployed stack record-task-STAGE.
Exit status: 0 done, 1 an operation failed (or found trouble), 2 a usage error."""


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    options = common.add_argument_group("common options")
    options.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    options.add_argument("--stage", help="read resource names from the deployed stack record-task-STAGE")
    options.add_argument("--stack", help="read resource names from this stack (instead of --stage)")
    options.add_argument("--region", help="AWS region (default: AWS_REGION / the profile's)")
    root = argparse.ArgumentParser(
        prog="python -m record_task",
        description="Operate record-task: plan and sign payloads, inspect the booking ledger beside Tencent, "
        "reconcile them, redrive the DLQ, republish results.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.register(commands, common)
    return root


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """Run one command; `out`, `err` and `clock` are the process's unless a test gives its own."""
    args = parser().parse_args(argv)  # a usage error exits 2 here
    _quiet_function_logs()
    err = err or sys.stderr
    try:
        env = dict(os.environ)
        ctx = Context(env, as_json=args.json, out=out or sys.stdout, err=err, region=args.region, clock=clock())
        name = stack_name(args.stage, args.stack)
        if name:
            found = stack_settings(ctx.client("cloudformation"), name)
            env.update(found)
            ctx.hints = {s: f"the stack {name} has no output {o}" for o, s in OUTPUTS.items() if s not in found}
        code: int = args.run(ctx, args)
        return code
    except CliError as exc:
        print(f"record-task: error: {exc}", file=err)
        return exc.code
    except KeyboardInterrupt:
        print("record-task: interrupted", file=err)
        return 130


def _quiet_function_logs() -> None:
    """The function's log lines (Powertools child loggers) are for CloudWatch, not an operator's terminal:
    unless a host process configured them, they are dropped and the command reports what matters itself."""
    functions = logging.getLogger("record-task")
    if not functions.handlers:
        functions.addHandler(logging.NullHandler())
        functions.propagate = False


if __name__ == "__main__":
    sys.exit(main())
