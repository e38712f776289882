"""`plan`, `sign` and `send`: what a payload would become, and how to deliver it signed.

`plan` runs the function's own parser and `plan_recording` with its settings, offline, so what it prints
is what the function would call for a stream with no neighbours (docs/contract.md, "Operator surface").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from record_task.bookings.plan import plan_recording
from record_task.cli.context import CliError, Context, add_command, when
from record_task.config import Settings
from record_task.errors import InvalidBooking
from record_task.ledger.items import booking_key
from record_task.model.booking import Booking
from record_task.sources import signatures
from record_task.sources.bodies import parse_json_body
from record_task.sources.registry import BY_NAME, parse_bookings

# source -> (the header its route checks, the value for a body, a secret and the current time)
SIGNERS: dict[str, tuple[str, Callable[[bytes, str, int], str]]] = {
    "calcom": (signatures.CALCOM_HEADER, lambda body, secret, now: signatures.sign_calcom(body, secret)),
    "calendly": (signatures.CALENDLY_HEADER, lambda body, secret, now: signatures.sign_calendly(body, secret, now)),
    "direct": (signatures.DIRECT_HEADER, lambda body, secret, now: signatures.sign_direct(body, secret)),
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    plan = add_command(commands, common, "plan", run_plan, "what the function would do with a payload (offline)",
        "Parse a booking payload and plan it with the function's settings (ROUTES, padding, defaults), "
        "offline: no AWS, no Tencent. Exit 0 when it would be carried out or deferred, 1 when rejected.")  # fmt: skip
    plan.add_argument("file", type=Path, help="the payload (direct, Cal.com or Calendly JSON); - for stdin")
    plan.add_argument("--source", choices=sorted(BY_NAME), help="the source (default: from the body's shape)")
    plan.add_argument("--now", type=int, help="the current time as UNIX seconds (default: the clock)")

    for name, text in (("sign", "print the signature header the source's route checks"), ("send", "sign and POST")):
        command = commands.add_parser(name, parents=[common], help=text, description=text.capitalize() + ".")
        command.add_argument("file", type=Path, help="the payload, sent byte for byte")
        command.add_argument("--source", choices=sorted(BY_NAME), required=True)
        command.add_argument("--secret", required=True, help="the route's secret (e.g. DIRECT_WEBHOOK_SECRET's value)")
        if name == "send":
            command.add_argument("--url", required=True, help="the API's base URL (the source's path is added)")
            command.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")
        command.set_defaults(run=run_sign if name == "sign" else run_send)


def read_payload(path: Path) -> bytes:
    try:
        return sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", code=2) from None


# -- plan --------------------------------------------------------------------------------------------------------


def run_plan(ctx: Context, args: argparse.Namespace) -> int:
    raw = read_payload(args.file)
    now = args.now if args.now is not None else ctx.now
    settings = ctx.settings
    report: dict[str, Any] = {"status": "created", "calls": [], "error": None}
    lines: list[str] = []
    try:
        bookings = parse_bookings(parse_json_body(raw), BY_NAME[args.source] if args.source else None)
        for booking in bookings:
            _plan_one(booking, settings, now, report, lines)
    except InvalidBooking as exc:  # a reschedule's cancellation stands even when the new booking is rejected
        kept = {"cancels": report["cancels"]} if "cancels" in report else {}
        report = {"status": "rejected", "calls": [], "error": exc.info.to_dict(), **kept}
        field = f" (field {exc.field})" if exc.field else ""
        lines = [*lines[:1], f"rejected{field}: {exc.message}"] if kept else [f"rejected{field}: {exc.message}"]
    ctx.emit(report, "\n".join(lines))
    return 1 if report["status"] == "rejected" else 0


def _plan_one(booking: Booking, settings: Settings, now: int, report: dict[str, Any], lines: list[str]) -> None:
    who = f"booking {booking.booking_id} ({booking.source}"
    who += f", {booking.trigger})" if booking.trigger else ")"
    if booking.skip_reason:
        report.update(status="skipped", reason=booking.skip_reason)
        lines.append(f"{who}: skipped: {booking.skip_reason}")
        return
    cancelled = booking.booking_id if booking.action == "cancel" else booking.replaces
    if cancelled:
        key = booking_key(booking.source, cancelled)
        report.update(status="cancelled", cancels={"bookingId": cancelled, "source": booking.source, "ledgerKey": key})
        lines.append(
            f"{who}: cancels booking {cancelled}: its tasks (ids in the ledger item {key}) not started are deleted "
            "(DeleteRecordTask), one recording is stopped (StopRecordTask)"
        )
    if booking.action == "cancel":
        return
    plan = plan_recording(booking, settings, now)
    if plan.deferred:
        assert plan.due_at is not None
        report.update(status="deferred", window={"startTime": plan.start_time, "endTime": plan.end_time})
        report["dueAt"] = plan.due_at
        lines.append(
            f"{who}: deferred: window {when(plan.start_time)} .. {when(plan.end_time)} is beyond the "
            f"{settings.horizon_seconds} s horizon; the sweep creates its task(s) from {when(plan.due_at)} "
            f"(dueAt {plan.due_at})"
        )
        return
    report["status"] = "created"
    lines.append(f"{who}: {len(plan.requests)} CreateRecordTask call(s)")
    for number, request in enumerate(plan.requests, 1):
        params = {**request.to_params(), "Region": request.region}  # Region: a common parameter (header)
        report["calls"].append({"action": "CreateRecordTask", "params": params})
        lines.append(f"  {number}. CreateRecordTask")
        for name, value in params.items():
            shown = f"{value}  ({when(value)})" if name in ("StartTime", "EndTime") else json.dumps(value)
            lines.append(f"       {name:<11} {shown}")
        lines.append(f"       ({request.end_time - request.start_time} s)")


# -- sign and send ----------------------------------------------------------------------------------------------


def signature_header(source: str, body: bytes, secret: str, now: int) -> tuple[str, str]:
    name, sign = SIGNERS[source]
    return name, sign(body, secret, now)


def run_sign(ctx: Context, args: argparse.Namespace) -> int:
    name, value = signature_header(args.source, read_payload(args.file), args.secret, int(time.time()))
    ctx.emit({"name": name, "value": value}, f"{name}: {value}")
    return 0


def run_send(ctx: Context, args: argparse.Namespace) -> int:
    body = read_payload(args.file)
    name, value = signature_header(args.source, body, args.secret, int(time.time()))
    url = _target(args.url, BY_NAME[args.source].path)
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", name: value}
    )
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            status, text = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"{url} could not be reached: {reason}; check --url") from None
    try:
        answer: Any = json.loads(text)
    except json.JSONDecodeError:
        answer = text
    ctx.emit(
        {"status": status, "url": url, "answer": answer}, f"HTTP {status} from {url}\n{json.dumps(answer, indent=2)}"
    )
    return 0 if 200 <= status < 300 else 1


def _target(base: str, path: str) -> str:
    """The base URL with the source's route added, unless the URL names a path already."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"--url must be http(s)://host[:port][/path], got {base!r}", code=2)
    return base if parts.path not in ("", "/") else base.rstrip("/") + path
