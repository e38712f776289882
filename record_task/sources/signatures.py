"""Webhook signature checks: pure functions over the raw body bytes, compared in constant time.

The raw body is what the sender signed, byte for byte: callers pass it before any JSON parsing (and
after undoing API Gateway's base64, which is transport, not content). Every refusal is a
`SignatureError` (HTTP 401) whose message names the header or the missing setting, never a secret.
"""

from __future__ import annotations

import hashlib
import hmac

from record_task.errors import SignatureError

CALCOM_HEADER = "X-Cal-Signature-256"
CALENDLY_HEADER = "Calendly-Webhook-Signature"
DIRECT_HEADER = "X-Signature-256"
CALCOM_NO_SECRET = "no-secret-provided"  # what Cal.com sends when its webhook has no secret
_DIRECT_PREFIX = "sha256="
_MAX_STAMP_DIGITS = 12  # UNIX seconds until the year 33658; longer is garbage, not a time


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _matches(given: str, expected: str) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header may hold anything.
    return hmac.compare_digest(given.strip().lower().encode("utf-8", "replace"), expected.encode("ascii"))


# -- Cal.com ----------------------------------------------------------------------------------------------------


def sign_calcom(body: bytes | str, secret: str) -> str:
    """The `X-Cal-Signature-256` value Cal.com sends: lowercase hex HMAC-SHA256 of the body."""
    return _digest(secret, _as_bytes(body))


def verify_calcom(raw_body: bytes, header: str | None, secret: str) -> None:
    if header is None or not header.strip():
        raise SignatureError(f"{CALCOM_HEADER} header is missing")
    if header.strip() == CALCOM_NO_SECRET:
        raise SignatureError(
            f"{CALCOM_HEADER} is {CALCOM_NO_SECRET!r}: the Cal.com webhook has no secret; "
            "give it the value of CALCOM_WEBHOOK_SECRET"
        )
    if not _matches(header, sign_calcom(raw_body, secret)):
        raise SignatureError(f"{CALCOM_HEADER} does not match the body")


# -- Calendly ---------------------------------------------------------------------------------------------------


def sign_calendly(body: bytes | str, secret: str, t: int) -> str:
    """The `Calendly-Webhook-Signature` value for a delivery signed at UNIX time `t`."""
    return f"t={t},v1={_digest(secret, f'{t}.'.encode() + _as_bytes(body))}"


def verify_calendly(raw_body: bytes, header: str | None, secret: str, *, now: int, tolerance_seconds: int) -> None:
    """`t=<unix>,v1=<hex>` over `"<t>.<body>"`; a `t` further than the tolerance from `now` is refused.

    The timestamp is part of the signed message, so an attacker cannot refresh it: refusing old
    ones is what stops a captured delivery being replayed. Future ones are refused too (clock skew
    beyond the tolerance is as suspicious as age).
    """
    if header is None or not header.strip():
        raise SignatureError(f"{CALENDLY_HEADER} header is missing")
    timestamp, signatures = _parse_calendly_header(header)
    expected = _digest(secret, f"{timestamp}.".encode() + raw_body)
    if not any(_matches(signature, expected) for signature in signatures):
        raise SignatureError(f"{CALENDLY_HEADER} does not match the body")
    age = now - int(timestamp)
    if age > tolerance_seconds:
        raise SignatureError(
            f"{CALENDLY_HEADER} was signed {age}s ago, beyond the {tolerance_seconds}s tolerance: refused as a replay"
        )
    if -age > tolerance_seconds:
        raise SignatureError(
            f"{CALENDLY_HEADER} is dated {-age}s in the future, beyond the {tolerance_seconds}s tolerance"
        )


def _parse_calendly_header(header: str) -> tuple[str, list[str]]:
    """The `t` value as sent (it is signed as text) and every `v1` signature."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamps.append(value.strip())
        elif key == "v1":
            signatures.append(value.strip())
    stamp = timestamps[0] if len(timestamps) == 1 else ""
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= _MAX_STAMP_DIGITS) or not signatures:
        raise SignatureError(f"{CALENDLY_HEADER} is malformed; expected t=<unix seconds>,v1=<hex>")
    return stamp, signatures


# -- direct -----------------------------------------------------------------------------------------------------


def sign_direct(body: bytes | str, secret: str) -> str:
    """The `X-Signature-256` value for `POST /bookings`: `sha256=<hex HMAC-SHA256 of the body>`."""
    return _DIRECT_PREFIX + _digest(secret, _as_bytes(body))


def verify_direct(raw_body: bytes, header: str | None, secret: str) -> None:
    if header is None or not header.strip():
        raise SignatureError(f"{DIRECT_HEADER} header is missing; DIRECT_WEBHOOK_SECRET requires signed bookings")
    value = header.strip()
    if not value.lower().startswith(_DIRECT_PREFIX):
        raise SignatureError(f"{DIRECT_HEADER} is malformed; expected sha256=<hex>")
    if not _matches(value[len(_DIRECT_PREFIX) :], sign_direct(raw_body, secret)[len(_DIRECT_PREFIX) :]):
        raise SignatureError(f"{DIRECT_HEADER} does not match the body")
