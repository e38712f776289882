"""Tencent's recording callback signature: `sign` = MD5 of the callback key and `t`, where `t` is its expiry."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from record_task.errors import SignatureError
from record_task.recordings.callbacks import json_object, natural

CALLBACK_KEY_SETTING = "TENCENT_CALLBACK_KEY"


def sign_callback(key: str, t: int) -> str:
    """Tencent's `sign`: lowercase hex MD5 of the key followed by the decimal `t`."""
    return hashlib.md5((key + str(t)).encode("utf-8"), usedforsecurity=False).hexdigest()


def verify_callback(raw: bytes, key: str | None, now: int) -> dict[str, Any]:
    """The body of a callback Tencent signed with `key` and whose `t` is not past; else `SignatureError`."""
    if not key:
        raise SignatureError(f"{CALLBACK_KEY_SETTING} is not configured, so /webhooks/tencent refuses every callback")
    body = json_object(raw)
    if body is None or "t" not in body or "sign" not in body:
        raise SignatureError("the callback cannot be authenticated: the body must be a JSON object with t and sign")
    expires = natural(body["t"])
    if expires is None:
        raise SignatureError("the callback cannot be authenticated: t must be a UNIX time in decimal digits")
    if expires < now:
        raise SignatureError(f"the callback has expired: t={expires} is before now ({now})")
    given = body["sign"]
    # Bytes, not str: compare_digest refuses non-ASCII str, and a sender may put anything there.
    given_bytes = given.strip().lower().encode("utf-8", "replace") if isinstance(given, str) else b""
    if not hmac.compare_digest(given_bytes, sign_callback(key, expires).encode("ascii")):
        raise SignatureError(f"the callback's sign does not match t and {CALLBACK_KEY_SETTING}")
    return body
