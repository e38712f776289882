"""`python -m tools.emulator --port 9000`: the emulator in the foreground, for other processes.

Control endpoints (JSON):
  GET  /_emulator/tasks      every task with its Status
  GET  /_emulator/calls      every API request received: [{"Action", "Params"}]
  POST /_emulator/clock      {"now": epoch | null}         the time the API rules use (null: real time)
  POST /_emulator/inject     {"action", "code", "times", "after"}  after `after` calls, the next answer that code
  POST /_emulator/latency    {"seconds"}                    answer every call that much later
  POST /_emulator/drop       {"action", "times", "processed"}  close the socket without answering
  POST /_emulator/hold       carry every call out but answer none until released (at most 2 minutes)
  POST /_emulator/release    answer the held calls, and the next ones at once
  POST /_emulator/throttle   {"seconds"}                    refuse every CreateRecordTask that long
  POST /_emulator/page-size  {"size"}                       DescribeRecordTask page size
  POST /_emulator/revoke     {"code"}  answer every signed call with that AuthFailure (default
                             AuthFailure.SecretIdNotFound; or AuthFailure.SignatureFailure) until restored
  POST /_emulator/restore    accept the key pair again
  POST /_emulator/reset      forget tasks, calls, knobs (the key restored) and callback settings

Streams (see streams.py), each answer [{"Region", "DomainName", "AppName", "StreamName", "Spans":
[{"TaskId", "Start", "End"}]}] per stream:
  GET  /_emulator/timeline   the tasks that count (not deleted; a stopped one up to its stop), by start
  GET  /_emulator/missed     the seconds of each task the platform would not record (past three at once)

Recording callbacks (Tencent CSS events 100/332/341, signed, POSTed as JSON; see callbacks.py):
  POST /_emulator/callbacks       {"url", "key", "automatic"}   where to send them (url null: nowhere);
                                  automatic: report every task whose recording ended, after each API
                                  call and clock change
  POST /_emulator/callbacks/send  {"taskId", "files", "statuses"}  one task's callbacks now; statuses from
                                  start, fail, pause, resume, error, end, abnormal (default start, end)
  POST /_emulator/finish          start, a file and end for every task that ended and was not reported
  GET  /_emulator/callbacks       every callback sent: [{"eventType", "body", "status", "error"}]
  The POSTs that send answer {"ok": true, "sent": [...]} with what was sent and the status answered.
"""

from __future__ import annotations

import argparse
import time

from tools.emulator.running import start_emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret-id", default="AKIDEMULATOR")
    parser.add_argument("--secret-key", default="emulator-secret-key")
    args = parser.parse_args()
    emulator = start_emulator(secret_id=args.secret_id, secret_key=args.secret_key, host=args.host, port=args.port)
    print(f"Tencent Live API emulator on {emulator.endpoint} (SecretId {args.secret_id}); Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
