"""One exception hierarchy that decides how every failure ends.

`InvalidBooking` -> a `rejected` result, never retried; `PermanentFailure` -> `failed`, never retried;
`TransientFailure` -> retried (SQS redelivery, the webhook queues it, the next sweep);
`OperatorError` -> held: retried like a transient failure but never remembered as final, since only the
operator can fix it (docs/contract.md, "Nothing valid is refused"); `ConfigurationError` is one, raised
at start where it can be; `SignatureError` -> 401. Each carries the error value published in a result:
a code, a message and, when one is to blame, the field.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ECHO_CHARS = 256  # what a result repeats of the input (ids, triggers, field names) stays small
MAX_MESSAGE_CHARS = 1024


def bounded(text: str | None, limit: int = MAX_ECHO_CHARS) -> str | None:
    """Input echoed in a result, cut to `limit` characters (marked), so no result outgrows SNS, and any
    half of a UTF-16 pair spelled out, so the ledger (UTF-8) can store it."""
    if text is None:
        return None
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ErrorInfo:
    """The `error` object of a result message; bounded, since messages may quote the input."""

    code: str
    message: str
    field: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", bounded(self.message, MAX_MESSAGE_CHARS))
        object.__setattr__(self, "field", bounded(self.field))

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class RecordTaskError(Exception):
    """Base of every failure the function turns into a result."""

    default_code = "InternalError"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.info = ErrorInfo(code=code or self.default_code, message=message, field=field)

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def field(self) -> str | None:
        return self.info.field

    @property
    def message(self) -> str:
        return self.info.message


class InvalidBooking(RecordTaskError):
    """The input breaks a rule: answered `rejected` (HTTP 400) and never retried."""

    default_code = "InvalidParameter"


class SignatureError(RecordTaskError):
    """The delivery is not proven to come from its sender: answered 401, and nothing else happens
    (no result: an unsigned body may be anyone's)."""

    default_code = "Unauthorized"


class TransientFailure(RecordTaskError):
    """Worth retrying later: throttling, timeouts, the network, a booking being worked on elsewhere.
    SQS redelivers the message, the sweep keeps the item due, the webhook queues the booking (or,
    when it cannot, answers 503)."""

    default_code = "InternalError"


class PermanentFailure(RecordTaskError):
    """The upstream API refused in a way a retry cannot change: `failed` (HTTP 502)."""

    default_code = "FailedOperation"


class OperatorError(RecordTaskError):
    """Keys, permissions, a missing resource: the operator must act. Held, never final for a booking."""

    default_code = "OperatorActionNeeded"
    metric = "OperatorActionNeeded"  # counted where a booking is held; an alarm watches it


class ConfigurationError(OperatorError):
    """A setting is missing or malformed: raised at start where it can be, else by the call that
    needs it (the Tencent keys are read at the first signature)."""

    default_code = "ConfigurationError"


# AWS error codes (DynamoDB, SNS, Secrets Manager) that a retry cannot fix: the operator's to fix (a
# missing table, topic or secret; a role without the permission) or a request the function built wrong.
_OPERATOR_AWS_CODES = frozenset(
    "AccessDenied AccessDeniedException AuthorizationError UnrecognizedClientException InvalidClientTokenId "
    "ResourceNotFoundException NotFound NotFoundException DecryptionFailure KMSAccessDeniedException "
    "KMSDisabledException".split()
)
_BUG_AWS_CODES = frozenset(
    "ValidationException SerializationException InvalidParameter InvalidParameterException".split()
)


def aws_failure(exc: Exception, doing: str, transient_code: str) -> RecordTaskError:
    """What an AWS error means for the booking: held (operator), permanent (our bug) or transient."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    code = str(error.get("Code", "")) if isinstance(error, dict) else ""
    text = f"{doing} failed: {type(exc).__name__}: {exc}"
    if code in _OPERATOR_AWS_CODES:
        return OperatorError(text, code=code)
    if code in _BUG_AWS_CODES:
        return PermanentFailure(text, code=code)
    return TransientFailure(text, code=transient_code)
