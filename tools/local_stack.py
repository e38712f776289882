"""`make stack`: moto server on :5000 and the Tencent emulator on :9000, with the stack's resources.

These are the addresses the `local` stage of serverless.yml points at, so in another terminal:
`make events && npx osls invoke local --stage local -f queue -p events/queue-direct-valid.json`.
"""

from __future__ import annotations

import time

from tools.emulator import start_emulator
from tools.local_aws import MotoStack, moto_server


def main() -> None:
    with moto_server(5000) as endpoint, start_emulator(port=9000) as emulator:
        stack = MotoStack(endpoint=endpoint, max_receive_count=5).create()
        print(f"local AWS on {endpoint}: queue {stack.queue_url}, topic {stack.topic_arn}")
        print(f"Tencent emulator on {emulator.endpoint} (ledger: GET {emulator.endpoint}/_emulator/tasks)")
        print("results published to the topic are readable from", stack.results_queue_url)
        print("Ctrl-C stops both.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
