"""The HTTP transport: a route per booking source (`record_task.sources.registry`) and `/webhooks/tencent`.

Serves API Gateway HTTP API (payload 2.0) and REST proxy (1.0) events with the Powertools resolvers.
Checks size and signature on the raw bytes before anything is parsed, then maps the decision's
outcome to the status codes of docs/contract.md ("Entry points"). A booking that cannot be carried out
within WEBHOOK_LIVE_BUDGET_SECONDS is queued for `handler.queue` and answered 202 `queued`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.utilities.typing import LambdaContext

from record_task.bookings.decision import BookingDecision
from record_task.config import Settings
from record_task.errors import ErrorInfo, InvalidBooking, OperatorError, SignatureError, TransientFailure
from record_task.ledger.outbox import Outcome
from record_task.model.results import Result
from record_task.sources.bodies import parse_json_body
from record_task.sources.registry import SOURCES, BookingSource, Headers, parse_bookings
from record_task.transports.handoff import Handoff

if TYPE_CHECKING:
    from record_task.recordings.reports import Recordings

logger = Logger(service="record-task", child=True)
MAX_BODY_BYTES = 256 * 1024
RETRY_AFTER_SECONDS = 30
CALLBACK_PATH = "/webhooks/tencent"
_STATUS_CODES = {"created": 201, "deferred": 202, "cancelled": 200, "skipped": 200, "rejected": 400, "failed": 502}


class Webhook:
    """`handler.webhook`: one HTTP event in, one JSON response out, never an exception."""

    def __init__(
        self,
        decision: BookingDecision,
        recordings: Callable[[], Recordings],  # built on the first callback: bookings never load it
        settings: Settings,
        clock: Callable[[], float] = time.time,
        handoff: Handoff | None = None,
    ) -> None:
        self._handoff = handoff
        self._decision = decision
        self._recordings = recordings
        self._settings = settings
        self._clock = clock
        self._http = self._resolver(APIGatewayHttpResolver())
        self._rest = self._resolver(APIGatewayRestResolver())

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
            return _not_http("the event is not an API Gateway request (no requestContext)")
        resolver = self._http if event.get("version") == "2.0" else self._rest
        try:
            return resolver.resolve(event, context)
        except Exception as exc:  # our routes answer every error themselves: this is the event's shape
            logger.warning("unreadable API Gateway event", extra={"error": type(exc).__name__})
            return _not_http(f"the API Gateway event cannot be read ({type(exc).__name__})")

    def _resolver(self, app: ApiGatewayResolver) -> ApiGatewayResolver:
        for source in SOURCES:
            app.route(source.path, method="POST")(
                lambda app=app, source=source: self._read(app, partial(self._booking, source))
            )
        app.route(CALLBACK_PATH, method="POST")(lambda app=app: self._read(app, self._callback))

        @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
        def unexpected(exc: Exception) -> Response[str]:
            if isinstance(exc, ServiceError):  # the resolver's own 404/405
                return _error(exc.status_code, ErrorInfo("NotFound", str(exc.msg)))
            logger.exception("unexpected error")
            return _error(500, ErrorInfo("InternalError", "unexpected error; the booking was not processed"))

        return app

    def _read(self, app: ApiGatewayResolver, handle: Callable[[bytes, Headers, int], Response[str]]) -> Response[str]:
        """The raw body a route's handler gets (size and base64 checked); a transient failure is a 503."""
        event = app.current_event
        raw = _raw_body(event.body, event.is_base64_encoded)
        if isinstance(raw, Response):
            return raw
        try:
            headers = {name.lower(): value for name, value in (event.headers or {}).items()}  # REST keeps case
            return handle(raw, headers, int(self._clock()))
        except (TransientFailure, OperatorError) as exc:
            logger.warning("could not be carried out nor queued; the sender should retry",
                           extra={"error": exc.code, "cause": exc.message})  # fmt: skip
            response = _error(503, exc.info)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response

    def _booking(self, source: BookingSource, raw: bytes, headers: Headers, now: int) -> Response[str]:
        settings = self._settings
        try:
            secret = settings.webhook_secrets.get(source.name)
            source.verify(raw, headers, secret, now, settings.signature_tolerance_seconds)
        except SignatureError as exc:
            logger.warning("signature refused", extra={"source": source.name, "reason": exc.message})
            return _error(401, exc.info)
        try:
            bookings = parse_bookings(parse_json_body(raw), source)
        except InvalidBooking as exc:
            return _respond(self._decision.reject(exc, raw, now, source.name))
        logger.append_keys(booking_id=",".join(b.booking_id for b in bookings), source=source.name)
        decision = self._decision.within(settings.webhook_live_budget_seconds)
        try:
            return _respond(Outcome.combined([decision.handle(booking, now) for booking in bookings]))
        except (TransientFailure, OperatorError) as exc:  # not in time: the queue carries it out (or 503)
            if self._handoff is None:
                raise
            self._handoff.send(raw.decode("utf-8"), source.name)
            logger.warning("booking queued", extra={"error": exc.code, "cause": exc.message})
            reason = f"queued for the queue path ({_WHY_QUEUED.get(exc.code, _WHY_QUEUED[''])}), which carries it out"
            queued = Result.for_booking(bookings[-1], "queued", now, error=exc.info, reason=reason)
            return Response(status_code=202, content_type="application/json", body=json.dumps(queued.to_message()))

    def _callback(self, raw: bytes, headers: Headers, now: int) -> Response[str]:
        """A Tencent recording callback: 401 unless signed, else 200 (Tencent retries anything else)."""
        from record_task.recordings.callbacks import parse_callback
        from record_task.recordings.signature import verify_callback

        try:
            body = verify_callback(raw, self._settings.tencent_callback_key, now)
        except SignatureError as exc:
            logger.warning("callback refused", extra={"reason": exc.message})
            return _error(401, exc.info)
        result = self._recordings().receive(parse_callback(body), now)
        answer = {"code": 0, "status": result.status if result else "ignored"}
        return Response(status_code=200, content_type="application/json", body=json.dumps(answer))


def _respond(outcome: Outcome) -> Response[str]:
    result = outcome.primary
    status = _STATUS_CODES[result.status]
    if outcome.duplicate and status < 300:
        status = 200
    body = result.to_message()
    if len(outcome.results) > 1:
        body["related"] = [other.to_message() for other in outcome.results[:-1]]
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


_WHY_QUEUED = {
    "RateShareUsedUp": "this instance's share of the Live API rate is used up",
    "": "not carried out within WEBHOOK_LIVE_BUDGET_SECONDS",
}


def _raw_body(body: object, base64_encoded: bool | None) -> bytes | Response[str]:
    """The bytes the sender signed (API Gateway's base64 undone), or the 400/413 that refuses them."""
    if body is not None and not isinstance(body, str):  # API Gateway always sends a string
        return _error(400, ErrorInfo("InvalidRequest", "the event's body must be a string", "body"))
    try:
        raw = base64.b64decode(body or "", validate=True) if base64_encoded else (body or "").encode("utf-8")
    except (binascii.Error, ValueError):
        return _error(400, ErrorInfo("InvalidParameter", "body is flagged base64 but is not valid base64", "body"))
    if len(raw) > MAX_BODY_BYTES:
        info = ErrorInfo("PayloadTooLarge", f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}", "body")
        return _error(413, info)
    return raw


def _not_http(message: str) -> dict[str, Any]:
    return error_event(400, ErrorInfo("InvalidRequest", message, "event"))


def error_event(status: int, info: ErrorInfo) -> dict[str, Any]:
    """A Lambda proxy answer carrying only an error, for answers given without a resolver."""
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": info.to_dict()})}  # fmt: skip


def _error(status: int, info: ErrorInfo) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps({"error": info.to_dict()}))
