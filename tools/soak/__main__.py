"""`make soak`: bookings through `handler.queue` while the Tencent API and SNS fail, with SQS simulated.

Proves the promise "every message ends in the right result": exactly one task per booking, no
duplicate, and every booking's terminal result published or its message in the dead-letter queue.
Faults come from `tools/faults.py` (a proxy in front of the emulator; SNS `Publish` failing in the SDK);
SQS is `tools/soak/sqs.py`; a Lambda killed mid-batch is `tools/soak/kill.py`.

Last, the Tencent key is revoked for a while as bookings arrive, restored, and the DLQ redriven
(`tools/soak/revoked.py`): every booking must end created, none twice, none lost.

`python -m tools.soak --bookings 1000` runs everything on loopback and prints a summary.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from contextlib import ExitStack

from tools.soak.env import LEASE_SECONDS, ServerErrors, load_handler, soak_env, soak_in_rounds
from tools.soak.kill import invoke_queue, lambda_timeout
from tools.soak.revoked import revoked_phase
from tools.soak.verdict import verify
from tools.soak.workload import make_bookings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.30)
    parser.add_argument("--publish-fault-rate", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--revoked-bookings", type=int, default=200, help="bookings of the revoked-key phase")
    parser.add_argument("--revoked-seconds", type=float, default=8.0, help="how long the key stays revoked")
    parser.add_argument("--invoke-queue", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.invoke_queue:
        return invoke_queue(args.invoke_queue)

    from tools.emulator import start_emulator
    from tools.faults import FaultProxy, PublishFaults
    from tools.local_aws import CREDENTIALS, MotoStack, moto_server

    seed = args.seed if args.seed is not None else int(time.time())
    moto_errors = ServerErrors()
    logging.getLogger("werkzeug").addFilter(moto_errors)
    with ExitStack() as running:
        stack = MotoStack(endpoint=running.enter_context(moto_server())).create()
        emulator = running.enter_context(start_emulator())
        proxy = running.enter_context(FaultProxy(emulator.endpoint, rate=args.fault_rate, seed=seed))
        publish_faults = running.enter_context(PublishFaults(args.publish_fault_rate, seed=seed).installed())
        os.environ.update({**CREDENTIALS, **soak_env(stack.env(), proxy.endpoint)})
        handler = load_handler()
        messages = make_bookings(args.bookings, int(time.time()), f"soak{seed % 100_000}")
        started = time.monotonic()
        sqs, results = soak_in_rounds(handler.queue, stack, messages, visibility_seconds=LEASE_SECONDS + 1)
        report = verify(messages, emulator.tasks, results, sqs.dead_letters)
        print(f"soak: seed {seed}, {time.monotonic() - started:.0f} s, {sqs.batches} batches, "
              f"{sqs.deliveries} deliveries ({sqs.redeliveries} redelivered)")  # fmt: skip
        print(f"faults injected on {proxy.chooser.decisions} Tencent calls: {proxy.injected}")
        print(f"faults injected on {publish_faults.chooser.decisions} SNS publishes: {publish_faults.injected}")
        print(f"moto server errors answered to the function (retried by botocore): {moto_errors.count}")
        print("\n".join(report.lines()))

        proxy.set_rate(0.0)
        publish_faults.chooser.rate = 0.0
        env = {**soak_env(stack.env(), emulator.endpoint, lease_seconds=3), "LIVE_API_RATE_PER_SECOND": "4"}
        batch = make_bookings(10, int(time.time()), f"kill{seed % 100_000}", duplicate_every=0)
        killed, redelivery = lambda_timeout(env, emulator, handler.queue, batch, lease_seconds=3)
        streams = {m.stream_name for m in batch}
        after = verify(batch, emulator.tasks, stack.results(), redelivery.dead_letters, only=streams)
        print(f"lambda timeout: killed after {killed.tasks_made} of 10 tasks, mid-batch: {killed.while_running}")
        print("after redelivery: " + "; ".join(after.lines()))

        os.environ.update(soak_env(stack.env(), emulator.endpoint))
        handler = load_handler()
        stack.results()  # what the kill phase published is judged already
        revoked_batch = make_bookings(args.revoked_bookings, int(time.time()), f"revoke{seed % 100_000}")
        revoked = revoked_phase(handler.queue, emulator, stack.results, revoked_batch, args.revoked_seconds)
        print(revoked.line())
    problems = [*report.problems, *after.problems, *revoked.problems]
    problems += [f"{booking}: its result was published more than once" for booking in report.repeated_results]
    problems += [f"in the DLQ after the kill: {m.booking_id}" for m in redelivery.dead_letters]
    if problems:
        print("\nSOAK FAILED:\n  " + "\n  ".join(problems[:50]))
        return 1
    print("\nsoak: every booking ended in exactly one task and one result, or in the DLQ with its reason.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
